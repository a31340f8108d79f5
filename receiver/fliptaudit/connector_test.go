package fliptaudit

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configgrpc"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"

	"github.com/otelcol-flipt/otelcol-flipt/internal/auditevent"
	"github.com/otelcol-flipt/otelcol-flipt/internal/e2etest"
	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
	"github.com/otelcol-flipt/otelcol-flipt/receiver/fliptaudit/internal/metadata"
)

const metricSpanEventsSkipped = "otelcol_flipt_audit_span_events_skipped"

// startConnector creates the connector from its factory.
func startConnector(t *testing.T, next consumer.Logs) (connector.Traces, *componenttest.Telemetry) {
	t.Helper()
	f := NewConnectorFactory()
	if f.Type() != metadata.Type || f.TracesToLogsStability() != metadata.TracesToLogsStability {
		t.Fatalf("factory %v", f.Type())
	}
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	set := connectortest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = tel.NewTelemetrySettings()
	c, err := f.CreateTracesToLogs(context.Background(), set, f.CreateDefaultConfig(), next)
	if err != nil {
		t.Fatal(err)
	}
	if c.Capabilities().MutatesData {
		t.Error("the connector must not claim to mutate data")
	}
	if err := c.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Shutdown(context.Background()) })
	return c, tel
}

// checkCapturedRecords asserts the records made from Flipt's captured traces:
// the 53 audit.log lines in order, each linked to its span, under Flipt's
// resource and the span's scope.
func checkCapturedRecords(t *testing.T, sink *consumertest.LogsSink) {
	t.Helper()
	wantAuditLog(t, checkTraceRecords(t, sink, true))
}

// wantAuditLog expects got to be the lines of Flipt's audit.log, in order.
func wantAuditLog(t *testing.T, got []string) {
	t.Helper()
	lines := fliptcapture.Lines(t, "audit.log")
	if len(got) != len(lines) {
		t.Fatalf("%d records, want %d", len(got), len(lines))
	}
	for i := range lines {
		if got[i] != string(lines[i]) {
			t.Errorf("record %d:\n got %s\nwant %s", i, got[i], lines[i])
		}
	}
}

// checkTraceRecords checks what every record made from the captured traces
// must hold and returns their json encodings in order.
func checkTraceRecords(t *testing.T, sink *consumertest.LogsSink, fullResource bool) []string {
	t.Helper()
	spans := map[[2]string]bool{}
	for _, td := range fliptcapture.Traces(t) {
		for _, rs := range td.ResourceSpans().All() {
			for _, ss := range rs.ScopeSpans().All() {
				for _, s := range ss.Spans().All() {
					spans[[2]string{s.TraceID().String(), s.SpanID().String()}] = true
				}
			}
		}
	}
	var out []string
	for _, ld := range sink.AllLogs() {
		for _, rl := range ld.ResourceLogs().All() {
			if v, _ := rl.Resource().Attributes().Get("service.name"); v.Str() != "flipt" {
				t.Errorf("resource service.name %q", v.Str())
			}
			for _, sl := range rl.ScopeLogs().All() {
				if _, ok := rl.Resource().Attributes().Get("service.version"); fullResource && !ok {
					t.Error("resource lost service.version")
				}
				if fullResource && sl.Scope().Name() == "" {
					t.Error("scope lost")
				}
				for _, lr := range sl.LogRecords().All() {
					if !spans[[2]string{lr.TraceID().String(), lr.SpanID().String()}] {
						t.Errorf("record %d: not linked to a captured span", len(out))
					}
					if v, _ := lr.Attributes().Get(auditevent.AttrSource); v.Str() != auditevent.SourceTrace {
						t.Errorf("record %d: source %q", len(out), v.Str())
					}
					out = append(out, encode(t, lr, auditevent.FormatJSON))
				}
			}
		}
	}
	return out
}

func TestConnectorOnCapturedTraces(t *testing.T) {
	sink := new(consumertest.LogsSink)
	c, tel := startConnector(t, sink)
	traces := fliptcapture.Traces(t)
	if len(traces) != 8 {
		t.Fatalf("%d captured trace bodies", len(traces))
	}
	for _, td := range traces {
		if err := c.ConsumeTraces(context.Background(), td); err != nil {
			t.Fatal(err)
		}
	}
	checkCapturedRecords(t, sink)
	// Exports without audit events do not reach the logs pipeline.
	if len(sink.AllLogs()) > len(traces) {
		t.Errorf("%d ConsumeLogs calls for %d exports", len(sink.AllLogs()), len(traces))
	}
	if n := counter(t, tel, metricReceived, "source", "trace"); n != 53 {
		t.Errorf("events_received{source=trace} = %d", n)
	}
}

// A real OTLP/HTTP receiver fed with Flipt's captured request bodies, the
// connector behind it.
func TestConnectorBehindOTLPReceiver(t *testing.T) {
	sink := new(consumertest.LogsSink)
	c, _ := startConnector(t, sink)

	addr := e2etest.FreeAddr(t)
	f := otlpreceiver.NewFactory()
	cfg := f.CreateDefaultConfig().(*otlpreceiver.Config)
	cfg.Protocols.GRPC = configoptional.None[configgrpc.ServerConfig]()
	cfg.Protocols.HTTP.GetOrInsertDefault().ServerConfig.NetAddr.Endpoint = addr
	startTracesReceiver(t, f, cfg, c)
	for i, body := range fliptcapture.TraceBodies(t) {
		if resp := post(t, "http://"+addr+"/v1/traces", "application/x-protobuf", body); resp.status != http.StatusOK {
			t.Fatalf("body %d: %d %s", i, resp.status, resp.body)
		}
	}
	checkCapturedRecords(t, sink)
}

func TestConnectorSkipsUndecodableEvents(t *testing.T) {
	sink := new(consumertest.LogsSink)
	c, tel := startConnector(t, sink)

	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "flipt")
	span := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	span.SetTraceID(pcommon.TraceID{1})
	span.SetSpanID(pcommon.SpanID{2})
	good := span.Events().AppendEmpty()
	good.SetName("event")
	for k, v := range map[string]string{
		"flipt.event.version": "0.2", "flipt.event.action": "deleted", "flipt.event.type": "flag",
		"flipt.event.timestamp": "2026-11-24T20:53:42Z", "flipt.event.status": "success",
		"flipt.event.metadata.actor": `{"authentication":"token"}`, "flipt.event.payload": `{"key":"f","namespace_key":"default"}`,
	} {
		good.Attributes().PutStr(k, v)
	}
	bad := span.Events().AppendEmpty()
	good.CopyTo(bad)
	bad.Attributes().PutStr("flipt.event.payload", `{"key":`)
	other := span.Events().AppendEmpty()
	other.SetName("exception")

	if err := c.ConsumeTraces(context.Background(), td); err != nil {
		t.Fatal(err)
	}
	if n := sink.LogRecordCount(); n != 1 {
		t.Fatalf("%d records, want the one good event", n)
	}
	if n := counter(t, tel, metricSpanEventsSkipped, "reason", skipMalformed); n != 1 {
		t.Errorf("span_events_skipped{reason=malformed} = %d", n)
	}

	// Spans without audit events produce no call at all.
	sink.Reset()
	plain := ptrace.NewTraces()
	plain.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty().Events().AppendEmpty().SetName("event")
	if err := c.ConsumeTraces(context.Background(), plain); err != nil {
		t.Fatal(err)
	}
	if len(sink.AllLogs()) != 0 {
		t.Fatal("next consumer called with no audit events")
	}
}

func TestConnectorPropagatesErrors(t *testing.T) {
	want := errors.New("exporter down")
	c, _ := startConnector(t, consumertest.NewErr(want))
	var got error
	for _, td := range fliptcapture.Traces(t) {
		if err := c.ConsumeTraces(context.Background(), td); err != nil {
			got = err
		}
	}
	if !errors.Is(got, want) {
		t.Fatalf("error %v", got)
	}
}

var _ component.Component = (*tracesToLogs)(nil)

// One rule on every path: a span event whose actor or payload JSON is
// followed by more data is refused and counted, as the webhook refuses
// such a body, and the other events of the export still go on; an event
// over a configured limit is counted under its own reason.
func TestConnectorRefusesTrailingDataAndCountsLimits(t *testing.T) {
	sink := new(consumertest.LogsSink)
	f := NewConnectorFactory()
	cfg := f.CreateDefaultConfig().(*ConnectorConfig)
	cfg.MaxMembers = 3
	cfg.MaxElements = 100
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	set := connectortest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = tel.NewTelemetrySettings()
	c, err := f.CreateTracesToLogs(context.Background(), set, cfg, sink)
	if err != nil {
		t.Fatal(err)
	}

	td := ptrace.NewTraces()
	span := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	add := func(actor, payload string) {
		ev := span.Events().AppendEmpty()
		ev.SetName("event")
		for k, v := range map[string]string{
			"flipt.event.version": "0.2", "flipt.event.action": "created", "flipt.event.type": "flag",
			"flipt.event.timestamp": "2026-11-24T20:53:42Z", "flipt.event.metadata.actor": actor, "flipt.event.payload": payload,
		} {
			ev.Attributes().PutStr(k, v)
		}
	}
	const actor, payload = `{"authentication":"token"}`, `{"key":"f"}`
	add(actor+" GARBAGE", payload)
	add(actor, payload+payload)
	add(actor, payload) // the good one
	add(actor, `{"a":1,"b":2,"c":3,"d":4}`)
	add(actor, "["+strings.Repeat("0,", 99)+"0]") // 101 values with the actor's 2, over max_elements
	if err := c.ConsumeTraces(context.Background(), td); err != nil {
		t.Fatal(err)
	}
	if n := sink.LogRecordCount(); n != 1 {
		t.Fatalf("%d records, want the one good event", n)
	}
	if n := counter(t, tel, metricSpanEventsSkipped, "reason", skipMalformed); n != 2 {
		t.Errorf("span_events_skipped{reason=malformed} = %d, want 2", n)
	}
	if n := counter(t, tel, metricSpanEventsSkipped, "reason", skipLimit); n != 2 {
		t.Errorf("span_events_skipped{reason=limit} = %d, want 2 (max_members, max_elements)", n)
	}
}
