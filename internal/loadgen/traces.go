package loadgen

import (
	"crypto/rand"
	"encoding/json"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Traces returns one OTLP export shaped like Flipt's: for each event seq in
// [from, to) a gRPC server span "flipt.Flipt/CreateFlag" carrying the audit
// span event, and an evaluation span that is a cache miss (it has a sql.*
// child span) when seq is even and a hit otherwise. As in Flipt's exports,
// spans are grouped by instrumentation scope, so the sql spans come after
// their parents.
func Traces(run string, from, to, scale int, now time.Time) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "flipt")
	rs.Resource().Attributes().PutStr("service.version", "v1.61.1")
	rs.Resource().Attributes().PutStr("service.instance.id", "loadgen-"+run)
	grpcSpans := rs.ScopeSpans().AppendEmpty()
	grpcSpans.Scope().SetName("go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc")
	sqlSpans := rs.ScopeSpans().AppendEmpty()
	sqlSpans.Scope().SetName("github.com/XSAM/otelsql")

	start := pcommon.NewTimestampFromTime(now.Add(-time.Millisecond))
	end := pcommon.NewTimestampFromTime(now)
	for seq := from; seq < to; seq++ {
		traceID := newTraceID()

		mut := grpcSpans.Spans().AppendEmpty()
		mut.SetName("flipt.Flipt/CreateFlag")
		mut.SetKind(ptrace.SpanKindServer)
		mut.SetTraceID(traceID)
		mut.SetSpanID(newSpanID())
		mut.SetStartTimestamp(start)
		mut.SetEndTimestamp(end)
		mut.Attributes().PutStr("rpc.system.name", "grpc")
		mut.Attributes().PutStr("rpc.method", "CreateFlag")
		putAuditEvent(mut.Events().AppendEmpty(), run, seq, scale, now, end)

		eval := grpcSpans.Spans().AppendEmpty()
		eval.SetName("flipt.evaluation.EvaluationService/Variant")
		eval.SetKind(ptrace.SpanKindServer)
		eval.SetTraceID(newTraceID())
		eval.SetSpanID(newSpanID())
		eval.SetStartTimestamp(start)
		eval.SetEndTimestamp(end)
		eval.Attributes().PutStr("flipt.namespace", "default")
		eval.Attributes().PutStr("flipt.flag", "color")
		if seq%2 == 0 {
			q := sqlSpans.Spans().AppendEmpty()
			q.SetName("sql.conn.query")
			q.SetKind(ptrace.SpanKindClient)
			q.SetTraceID(eval.TraceID())
			q.SetSpanID(newSpanID())
			q.SetParentSpanID(eval.SpanID())
			q.SetStartTimestamp(start)
			q.SetEndTimestamp(end)
			q.Attributes().PutStr("db.system.name", "sqlite")
		}
	}
	return td
}

// putAuditEvent writes the span event form of WebhookEvent: the attributes
// Flipt sets, with the actor and payload as JSON strings.
func putAuditEvent(ev ptrace.SpanEvent, run string, seq, scale int, ts time.Time, at pcommon.Timestamp) {
	var body struct {
		Metadata struct {
			Actor json.RawMessage `json:"actor"`
		} `json:"metadata"`
		Payload json.RawMessage `json:"payload"`
	}
	if err := json.Unmarshal(WebhookEvent(run, seq, scale, ts), &body); err != nil {
		panic(err) // WebhookEvent always returns valid JSON
	}
	ev.SetName("event")
	ev.SetTimestamp(at)
	a := ev.Attributes()
	a.PutStr("flipt.event.version", "0.2")
	a.PutStr("flipt.event.action", "created")
	a.PutStr("flipt.event.type", "flag")
	a.PutStr("flipt.event.timestamp", ts.Format(time.RFC3339))
	a.PutStr("flipt.event.status", "success")
	a.PutStr("flipt.event.metadata.actor", string(body.Metadata.Actor))
	a.PutStr("flipt.event.payload", string(body.Payload))
}

func newTraceID() pcommon.TraceID {
	var id pcommon.TraceID
	_, _ = rand.Read(id[:])
	return id
}

func newSpanID() pcommon.SpanID {
	var id pcommon.SpanID
	_, _ = rand.Read(id[:])
	return id
}
