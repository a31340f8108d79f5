package fliptaudit

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/open-telemetry/opentelemetry-collector-contrib/receiver/zipkinreceiver"

	"github.com/otelcol-flipt/otelcol-flipt/internal/auditevent"
	"github.com/otelcol-flipt/otelcol-flipt/internal/e2etest"
	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
)

// zipkinSpans writes the spans of td as Zipkin v2 JSON the way
// OpenTelemetry Go's Zipkin exporter (Flipt's) does: each span event
// becomes an annotation "<name>: <attributes as a JSON object>".
func zipkinSpans(t *testing.T, td ptrace.Traces) []byte {
	t.Helper()
	type annotation struct {
		Timestamp int64  `json:"timestamp"`
		Value     string `json:"value"`
	}
	type span struct {
		TraceID       string            `json:"traceId"`
		ID            string            `json:"id"`
		ParentID      string            `json:"parentId,omitempty"`
		Name          string            `json:"name"`
		Timestamp     int64             `json:"timestamp"`
		Duration      int64             `json:"duration"`
		LocalEndpoint map[string]string `json:"localEndpoint"`
		Annotations   []annotation      `json:"annotations,omitempty"`
	}
	var out []span
	for _, rs := range td.ResourceSpans().All() {
		service, _ := rs.Resource().Attributes().Get("service.name")
		for _, ss := range rs.ScopeSpans().All() {
			for _, s := range ss.Spans().All() {
				z := span{
					TraceID: s.TraceID().String(), ID: s.SpanID().String(), Name: s.Name(),
					Timestamp:     int64(s.StartTimestamp()) / 1000,
					Duration:      int64(s.EndTimestamp()-s.StartTimestamp()) / 1000,
					LocalEndpoint: map[string]string{"serviceName": service.Str()},
				}
				if !s.ParentSpanID().IsEmpty() {
					z.ParentID = s.ParentSpanID().String()
				}
				for _, ev := range s.Events().All() {
					value := ev.Name()
					if ev.Attributes().Len() > 0 {
						attrs, err := json.Marshal(ev.Attributes().AsRaw())
						if err != nil {
							t.Fatal(err)
						}
						value = fmt.Sprintf("%s: %s", ev.Name(), attrs)
					}
					z.Annotations = append(z.Annotations, annotation{int64(ev.Timestamp()) / 1000, value})
				}
				out = append(out, z)
			}
		}
	}
	b, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Flipt's traces sent through its Zipkin exporter and the collector's real
// zipkin receiver still deliver all 53 audit events, byte for byte. Zipkin
// keeps only service.name of the resource, and the receiver may reorder the
// spans of one export.
func TestConnectorBehindZipkinReceiver(t *testing.T) {
	sink := new(consumertest.LogsSink)
	c, _ := startConnector(t, sink)

	addr := e2etest.FreeAddr(t)
	f := zipkinreceiver.NewFactory()
	cfg := f.CreateDefaultConfig().(*zipkinreceiver.Config)
	cfg.NetAddr.Endpoint = addr
	startTracesReceiver(t, f, cfg, c)
	for i, td := range fliptcapture.Traces(t) {
		if resp := post(t, "http://"+addr+"/api/v2/spans", "application/json", zipkinSpans(t, td)); resp.status != http.StatusAccepted {
			t.Fatalf("export %d: %d %s", i, resp.status, resp.body)
		}
	}
	got := checkTraceRecords(t, sink, false)
	want := map[string]int{}
	for _, l := range fliptcapture.Lines(t, "audit.log") {
		want[string(l)]++
	}
	for _, g := range got {
		want[g]--
	}
	for line, n := range want {
		if n != 0 {
			t.Errorf("%+d times: %s", -n, line)
		}
	}
	if len(got) != 53 {
		t.Fatalf("%d records", len(got))
	}
}

// The zipkin receiver cuts an annotation at its first '|': such an event
// cannot be rebuilt and is counted as skipped; other annotations are not
// audit events at all.
func TestZipkinAnnotationForms(t *testing.T) {
	sink := new(consumertest.LogsSink)
	c, tel := startConnector(t, sink)
	td := ptrace.NewTraces()
	events := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty().Events()
	for _, name := range []string{
		`event: {"flipt.event.action":"deleted","flipt.event.metadata.actor":"{\"authentication\":\"token\"}","flipt.event.payload":"{\"key\":\"f\"}","flipt.event.status":"success","flipt.event.timestamp":"2026-11-24T20:53:42Z","flipt.event.type":"flag","flipt.event.version":"0.2"}`,
		`event: {"flipt.event.action":"deleted","flipt.event.payload":"{\"description\":\"a`, // cut at a '|'
		`event: {"other":"x"}`,
		`message`,
	} {
		events.AppendEmpty().SetName(name)
	}
	if err := c.ConsumeTraces(context.Background(), td); err != nil {
		t.Fatal(err)
	}
	got := records(sink)
	if len(got) != 1 || encode(t, got[0], auditevent.FormatJSON) != `{"version":"0.2","type":"flag","action":"deleted","status":"success","metadata":{"actor":{"authentication":"token"}},"payload":{"key":"f"},"timestamp":"2026-11-24T20:53:42Z"}` {
		t.Fatalf("records %d", len(got))
	}
	if n := counter(t, tel, metricSpanEventsSkipped, "", ""); n != 1 {
		t.Errorf("span_events_skipped = %d", n)
	}
}
