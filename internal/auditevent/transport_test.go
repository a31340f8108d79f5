package auditevent

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/apache/thrift/lib/go/thrift"
	"github.com/jaegertracing/jaeger-idl/thrift-gen/jaeger"
	"github.com/open-telemetry/opentelemetry-collector-contrib/receiver/jaegerreceiver"
	"github.com/open-telemetry/opentelemetry-collector-contrib/receiver/zipkinreceiver"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configgrpc"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/otelcol-flipt/otelcol-flipt/internal/e2etest"
	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
)

// Flipt can also export traces over Zipkin and Jaeger. These tests send the
// captured audit span events through the collector's real zipkin and jaeger
// receivers, encoded as OpenTelemetry-Go's Zipkin and Jaeger exporters
// (which Flipt uses) encode them, and check that every event still decodes
// to its audit.log line.

type auditSpan struct {
	span   ptrace.Span
	events []ptrace.SpanEvent
}

func capturedAuditSpans(t *testing.T) []auditSpan {
	var out []auditSpan
	for _, td := range fliptcapture.Traces(t) {
		for _, rs := range td.ResourceSpans().All() {
			for _, ss := range rs.ScopeSpans().All() {
				for _, s := range ss.Spans().All() {
					var evs []ptrace.SpanEvent
					for _, ev := range s.Events().All() {
						if IsAuditSpanEvent(ev) {
							evs = append(evs, ev)
						}
					}
					if len(evs) > 0 {
						out = append(out, auditSpan{s, evs})
					}
				}
			}
		}
	}
	return out
}

// auditLinesFrom decodes every audit span event in the sink's traces.
func auditLinesFrom(t *testing.T, sink *consumertest.TracesSink) []string {
	var lines []string
	for _, td := range sink.AllTraces() {
		for _, rs := range td.ResourceSpans().All() {
			for _, ss := range rs.ScopeSpans().All() {
				for _, s := range ss.Spans().All() {
					for _, ev := range s.Events().All() {
						if !IsAuditSpanEvent(ev) {
							continue
						}
						lr := plog.NewLogRecord()
						if err := RecordFromSpanEvent(s, ev, lr, observed); err != nil {
							t.Fatalf("span %s event %q: %v", s.Name(), ev.Name(), err)
						}
						lines = append(lines, string(encode(lr, FormatJSON)))
					}
				}
			}
		}
	}
	return lines
}

func assertSameEvents(t *testing.T, got []string) {
	t.Helper()
	var want []string
	for _, l := range fliptcapture.Lines(t, "audit.log") {
		want = append(want, string(l))
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("got %d events, want the %d of audit.log; first got %v", len(got), len(want), got[:min(2, len(got))])
	}
}

func startReceiver(t *testing.T, f receiver.Factory, cfg any, sink *consumertest.TracesSink) {
	r, err := f.CreateTraces(context.Background(), receivertest.NewNopSettings(f.Type()), cfg, sink)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Shutdown(context.Background()) })
}

func post(t *testing.T, url, contentType string, body []byte) {
	resp, err := http.Post(url, contentType, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("POST %s: %d", url, resp.StatusCode)
	}
}

func TestAuditEventsSurviveZipkin(t *testing.T) {
	f := zipkinreceiver.NewFactory()
	cfg := f.CreateDefaultConfig().(*zipkinreceiver.Config)
	cfg.NetAddr.Endpoint = e2etest.FreeAddr(t)
	sink := &consumertest.TracesSink{}
	startReceiver(t, f, cfg, sink)

	type annotation struct {
		Timestamp int64  `json:"timestamp"`
		Value     string `json:"value"`
	}
	var spans []map[string]any
	for _, as := range capturedAuditSpans(t) {
		tid, sid := as.span.TraceID(), as.span.SpanID()
		var annos []annotation
		for _, ev := range as.events {
			// OpenTelemetry-Go's Zipkin exporter: "<name>: <attributes as a JSON map>".
			attrs, err := json.Marshal(ev.Attributes().AsRaw())
			if err != nil {
				t.Fatal(err)
			}
			annos = append(annos, annotation{int64(ev.Timestamp()) / 1000, fmt.Sprintf("%s: %s", ev.Name(), attrs)})
		}
		spans = append(spans, map[string]any{
			"traceId": hex.EncodeToString(tid[:]), "id": hex.EncodeToString(sid[:]),
			"name": as.span.Name(), "kind": "SERVER", "timestamp": int64(as.span.StartTimestamp()) / 1000,
			"duration": 1, "localEndpoint": map[string]string{"serviceName": "flipt"}, "annotations": annos,
		})
	}
	body, _ := json.Marshal(spans)
	post(t, "http://"+cfg.NetAddr.Endpoint+"/api/v2/spans", "application/json", body)
	assertSameEvents(t, auditLinesFrom(t, sink))
}

func TestAuditEventsSurviveJaeger(t *testing.T) {
	f := jaegerreceiver.NewFactory()
	cfg := f.CreateDefaultConfig().(*jaegerreceiver.Config)
	addr := e2etest.FreeAddr(t)
	cfg.GRPC = configoptional.None[configgrpc.ServerConfig]()
	cfg.ThriftBinaryUDP = configoptional.None[jaegerreceiver.ProtocolUDP]()
	cfg.ThriftCompactUDP = configoptional.None[jaegerreceiver.ProtocolUDP]()
	cfg.ThriftHTTP.GetOrInsertDefault().NetAddr.Endpoint = addr
	sink := &consumertest.TracesSink{}
	startReceiver(t, f, cfg, sink)

	batch := &jaeger.Batch{Process: &jaeger.Process{ServiceName: "flipt"}}
	str := func(k, v string) *jaeger.Tag { return &jaeger.Tag{Key: k, VType: jaeger.TagType_STRING, VStr: &v} }
	for _, as := range capturedAuditSpans(t) {
		tid, sid := as.span.TraceID(), as.span.SpanID()
		span := &jaeger.Span{
			TraceIdHigh: int64(binary.BigEndian.Uint64(tid[:8])), TraceIdLow: int64(binary.BigEndian.Uint64(tid[8:])),
			SpanId: int64(binary.BigEndian.Uint64(sid[:])), OperationName: as.span.Name(),
			StartTime: int64(as.span.StartTimestamp()) / 1000, Duration: 1,
		}
		for _, ev := range as.events {
			// OpenTelemetry-Go's Jaeger exporter: a log whose "event" field is
			// the name, then one field per attribute.
			fields := []*jaeger.Tag{str("event", ev.Name())}
			for k, v := range ev.Attributes().All() {
				fields = append(fields, str(k, v.Str()))
			}
			span.Logs = append(span.Logs, &jaeger.Log{Timestamp: int64(ev.Timestamp()) / 1000, Fields: fields})
		}
		batch.Spans = append(batch.Spans, span)
	}
	body, err := thrift.NewTSerializer().Write(context.Background(), batch)
	if err != nil {
		t.Fatal(err)
	}
	post(t, "http://"+addr+"/api/traces", "application/x-thrift", body)
	assertSameEvents(t, auditLinesFrom(t, sink))
}

// A known limit of the Zipkin path, kept as a test so a change upstream is
// noticed: the zipkin receiver reads "|" in an annotation as its own
// "name|attributes|dropped" separator, so an event whose attributes hold
// two or more "|" fails to parse and the receiver refuses the whole export.
func TestZipkinRefusesAnnotationsWithPipes(t *testing.T) {
	f := zipkinreceiver.NewFactory()
	cfg := f.CreateDefaultConfig().(*zipkinreceiver.Config)
	cfg.NetAddr.Endpoint = e2etest.FreeAddr(t)
	sink := &consumertest.TracesSink{}
	startReceiver(t, f, cfg, sink)
	value := `event: {"flipt.event.payload":"{\"description\":\"a|b|c\"}","flipt.event.version":"0.2"}`
	body := fmt.Sprintf(`[{"traceId":"0af7651916cd43dd8448eb211c80319c","id":"b7ad6b7169203331","name":"x",`+
		`"timestamp":1,"duration":1,"localEndpoint":{"serviceName":"flipt"},"annotations":[{"timestamp":1,"value":%q}]}]`, value)
	resp, err := http.Post("http://"+cfg.NetAddr.Endpoint+"/api/v2/spans", "application/json", bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 == 2 || sink.SpanCount() != 0 {
		t.Fatalf("the zipkin receiver now accepts pipes (status %d): update the README's Zipkin note", resp.StatusCode)
	}
}
