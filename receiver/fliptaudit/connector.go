package fliptaudit

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/otelcol-flipt/otelcol-flipt/internal/auditevent"
	"github.com/otelcol-flipt/otelcol-flipt/receiver/fliptaudit/internal/metadata"
)

var sourceTrace = metric.WithAttributeSet(attribute.NewSet(attribute.String("source", auditevent.SourceTrace)))

// tracesToLogs is the flipt_audit connector: it rebuilds the audit events
// Flipt carries as span events into log records, keeping each span's
// resource and scope.
type tracesToLogs struct {
	component.StartFunc
	next      consumer.Logs
	telemetry *metadata.TelemetryBuilder
	now       func() time.Time
	limits    auditevent.Limits
}

// Reasons a span event is skipped, the reason attribute of
// span_events_skipped.
const (
	skipMalformed = "malformed" // actor, payload or Zipkin annotation is not one JSON value
	skipNotEvent  = "not_event" // well-formed, but not an audit event
	skipLimit     = "limit"     // over max_depth or max_members
	skipCut       = "cut"       // a Zipkin annotation the zipkin receiver cut short
)

func skipReason(err error) string {
	var le *auditevent.LimitError
	var se *auditevent.SyntaxError
	switch {
	case errors.As(err, &le):
		return skipLimit
	case errors.As(err, &se):
		return skipMalformed
	case errors.Is(err, auditevent.ErrNotEvent):
		return skipNotEvent
	}
	return skipMalformed
}

func (c *tracesToLogs) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: false}
}

func (c *tracesToLogs) Shutdown(context.Context) error {
	c.telemetry.Shutdown()
	return nil
}

// ConsumeTraces forwards the audit events found in td, if any: span events
// as Flipt makes them (OTLP, Jaeger) or as Zipkin annotations. A span event
// that does not decode is counted and skipped; the rest still go on.
func (c *tracesToLogs) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	ld, skipped := c.extract(td)
	for reason, n := range skipped {
		c.telemetry.FliptAuditSpanEventsSkipped.Add(ctx, int64(n),
			metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", reason))))
	}
	n := ld.LogRecordCount()
	if n == 0 {
		return nil
	}
	c.telemetry.FliptAuditEventsReceived.Add(ctx, int64(n), sourceTrace)
	return c.next.ConsumeLogs(ctx, ld)
}

// extract builds one ResourceLogs per source resource and one ScopeLogs per
// source scope that holds audit events, in span order.
func (c *tracesToLogs) extract(td ptrace.Traces) (ld plog.Logs, skipped map[string]int) {
	skip := func(reason string) {
		if skipped == nil {
			skipped = map[string]int{}
		}
		skipped[reason]++
	}
	ld = plog.NewLogs()
	observed := pcommon.NewTimestampFromTime(c.now())
	for _, rs := range td.ResourceSpans().All() {
		var rl plog.ResourceLogs
		for _, ss := range rs.ScopeSpans().All() {
			var sl plog.ScopeLogs
			for _, span := range ss.Spans().All() {
				for _, ev := range span.Events().All() {
					if !auditevent.IsAuditSpanEvent(ev) {
						if isCutZipkinAuditEvent(ev) {
							skip(skipCut)
						}
						continue
					}
					lr := plog.NewLogRecord()
					if err := c.limits.RecordFromSpanEvent(span, ev, lr, observed); err != nil {
						skip(skipReason(err))
						continue
					}
					if rl == (plog.ResourceLogs{}) {
						rl = ld.ResourceLogs().AppendEmpty()
						rs.Resource().CopyTo(rl.Resource())
						rl.SetSchemaUrl(rs.SchemaUrl())
					}
					if sl == (plog.ScopeLogs{}) {
						sl = rl.ScopeLogs().AppendEmpty()
						ss.Scope().CopyTo(sl.Scope())
						sl.SetSchemaUrl(ss.SchemaUrl())
					}
					lr.MoveTo(sl.LogRecords().AppendEmpty())
				}
			}
		}
	}
	return ld, skipped
}
