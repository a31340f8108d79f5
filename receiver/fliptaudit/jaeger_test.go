package fliptaudit

import (
	"context"
	"encoding/binary"
	"net/http"
	"testing"

	"github.com/apache/thrift/lib/go/thrift"
	"github.com/jaegertracing/jaeger-idl/thrift-gen/jaeger"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/open-telemetry/opentelemetry-collector-contrib/receiver/jaegerreceiver"

	"github.com/otelcol-flipt/otelcol-flipt/internal/e2etest"
	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
)

// jaegerBatches writes td as Jaeger thrift batches the way OpenTelemetry
// Go's Jaeger exporter (Flipt's) does: a span event becomes a log whose
// fields are "event" = its name, then its attributes as tags.
func jaegerBatches(t *testing.T, td ptrace.Traces) [][]byte {
	t.Helper()
	str := func(k, v string) *jaeger.Tag { return &jaeger.Tag{Key: k, VType: jaeger.TagType_STRING, VStr: &v} }
	id64 := func(b []byte) int64 { return int64(binary.BigEndian.Uint64(b)) }
	var out [][]byte
	for _, rs := range td.ResourceSpans().All() {
		service, _ := rs.Resource().Attributes().Get("service.name")
		batch := &jaeger.Batch{Process: &jaeger.Process{ServiceName: service.Str()}}
		for k, v := range rs.Resource().Attributes().All() {
			batch.Process.Tags = append(batch.Process.Tags, str(k, v.AsString()))
		}
		for _, ss := range rs.ScopeSpans().All() {
			for _, s := range ss.Spans().All() {
				tid, sid, pid := s.TraceID(), s.SpanID(), s.ParentSpanID()
				js := &jaeger.Span{
					TraceIdHigh: id64(tid[:8]), TraceIdLow: id64(tid[8:]), SpanId: id64(sid[:]), ParentSpanId: id64(pid[:]),
					OperationName: s.Name(), Flags: 1,
					StartTime: int64(s.StartTimestamp()) / 1000, Duration: int64(s.EndTimestamp()-s.StartTimestamp()) / 1000,
					Tags: []*jaeger.Tag{str("otel.scope.name", ss.Scope().Name())},
				}
				for _, ev := range s.Events().All() {
					l := &jaeger.Log{Timestamp: int64(ev.Timestamp()) / 1000, Fields: []*jaeger.Tag{str("event", ev.Name())}}
					for k, v := range ev.Attributes().All() {
						if v.Type() == pcommon.ValueTypeStr {
							l.Fields = append(l.Fields, str(k, v.Str()))
						}
					}
					js.Logs = append(js.Logs, l)
				}
				batch.Spans = append(batch.Spans, js)
			}
		}
		b, err := thrift.NewTSerializer().Write(context.Background(), batch)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// Flipt's traces sent through its Jaeger exporter and the collector's real
// jaeger receiver (thrift, as Flipt's agent and collector endpoints speak)
// deliver all 53 audit events, byte for byte, in order.
func TestConnectorBehindJaegerReceiver(t *testing.T) {
	sink := new(consumertest.LogsSink)
	c, _ := startConnector(t, sink)

	addr := e2etest.FreeAddr(t)
	f := jaegerreceiver.NewFactory()
	cfg := f.CreateDefaultConfig().(*jaegerreceiver.Config)
	server := confighttp.NewDefaultServerConfig()
	server.NetAddr.Endpoint = addr
	cfg.Protocols = jaegerreceiver.Protocols{ThriftHTTP: configoptional.Some(server)}
	startTracesReceiver(t, f, cfg, c)
	for i, td := range fliptcapture.Traces(t) {
		for _, b := range jaegerBatches(t, td) {
			if resp := post(t, "http://"+addr+"/api/traces", "application/x-thrift", b); resp.status != http.StatusAccepted {
				t.Fatalf("export %d: %d %s", i, resp.status, resp.body)
			}
		}
	}
	wantAuditLog(t, checkTraceRecords(t, sink, false))
}
