package auditfile

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-flipt/otelcol-flipt/exporter/auditfile/internal/metadatatest"
	"github.com/otelcol-flipt/otelcol-flipt/internal/auditevent"
	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
)

// testConfig is the default config writing to a fresh temp dir, with retries
// off so errors reach the test at once.
func testConfig(t *testing.T) *Config {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.Path = filepath.Join(t.TempDir(), "audit", "flipt-audit.log")
	cfg.BackOffConfig.Enabled = false
	return cfg
}

// started creates the exporter from its factory and starts it; it is shut
// down at cleanup unless the test did so.
func started(t *testing.T, cfg *Config) (exporter.Logs, *componenttest.Telemetry) {
	t.Helper()
	tt := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tt.Shutdown(context.Background())) })
	exp, err := NewFactory().CreateLogs(context.Background(), metadatatest.NewSettings(tt), cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { _ = exp.Shutdown(context.Background()) })
	return exp, tt
}

func consume(t *testing.T, exp exporter.Logs, batches ...plog.Logs) {
	t.Helper()
	for _, ld := range batches {
		require.NoError(t, exp.ConsumeLogs(context.Background(), ld))
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

// logsOf decodes each data into a record of one plog.Logs.
func logsOf(t testing.TB, source string, data ...[]byte) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "flipt")
	records := rl.ScopeLogs().AppendEmpty().LogRecords()
	for _, d := range data {
		if err := auditevent.DecodeRecord(d, records.AppendEmpty(), source, pcommon.Timestamp(1)); err != nil {
			t.Fatal(err)
		}
	}
	return ld
}

// webhookBatches is what the webhook receiver hands on: one batch per event
// Flipt delivered (a retried event once, from its successful attempt),
// in audit.log order.
func webhookBatches(t testing.TB) (batches []plog.Logs, bodies [][]byte) {
	seen := map[string]bool{}
	for _, r := range append(fliptcapture.WebhookRequests(t, false), fliptcapture.WebhookRequests(t, true)...) {
		if seen[string(r.Body)] {
			continue
		}
		seen[string(r.Body)] = true
		bodies = append(bodies, r.Body)
		batches = append(batches, logsOf(t, auditevent.SourceWebhook, r.Body))
	}
	return batches, bodies
}

// traceBatches is what the flipt_audit connector makes of the captured
// traces: one batch per OTLP request, one record per audit span event.
func traceBatches(t testing.TB) []plog.Logs {
	var out []plog.Logs
	for _, td := range fliptcapture.Traces(t) {
		ld := plog.NewLogs()
		records := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
		for _, rs := range td.ResourceSpans().All() {
			for _, ss := range rs.ScopeSpans().All() {
				for _, span := range ss.Spans().All() {
					for _, ev := range span.Events().All() {
						if auditevent.IsAuditSpanEvent(ev) {
							if err := auditevent.RecordFromSpanEvent(span, ev, records.AppendEmpty(), 1); err != nil {
								t.Fatal(err)
							}
						}
					}
				}
			}
		}
		out = append(out, ld)
	}
	return out
}

// auditLogBatch is audit.log tailed as one batch.
func auditLogBatch(t testing.TB) plog.Logs {
	return logsOf(t, auditevent.SourceFile, fliptcapture.Lines(t, "audit.log")...)
}

// build creates the exporter with its internals at hand: tweak runs before
// it starts on host.
func build(t *testing.T, cfg *Config, host component.Host, tweak func(e *auditFileExporter)) (exporter.Logs, *auditFileExporter, *componenttest.Telemetry) {
	t.Helper()
	tt := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tt.Shutdown(context.Background())) })
	set := metadatatest.NewSettings(tt)
	e, err := newExporter(cfg, set)
	require.NoError(t, err)
	if tweak != nil {
		tweak(e)
	}
	exp, err := e.logs(context.Background(), set, cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), host))
	t.Cleanup(func() { _ = exp.Shutdown(context.Background()) })
	return exp, e, tt
}

// records splits batches into one batch per record, in order.
func records(batches ...plog.Logs) []plog.Logs {
	var out []plog.Logs
	for _, ld := range batches {
		for _, rl := range ld.ResourceLogs().All() {
			for _, sl := range rl.ScopeLogs().All() {
				for _, lr := range sl.LogRecords().All() {
					one := plog.NewLogs()
					orl := one.ResourceLogs().AppendEmpty()
					rl.Resource().CopyTo(orl.Resource())
					lr.CopyTo(orl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty())
					out = append(out, one)
				}
			}
		}
	}
	return out
}

// statusHost records the component status the exporter reports.
type statusHost struct {
	component.Host
	mu     sync.Mutex
	events []*componentstatus.Event
}

func newStatusHost() *statusHost { return &statusHost{Host: componenttest.NewNopHost()} }

func (h *statusHost) Report(ev *componentstatus.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, ev)
}

func (h *statusHost) statuses() []componentstatus.Status {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []componentstatus.Status
	for _, ev := range h.events {
		out = append(out, ev.Status())
	}
	return out
}

func (h *statusHost) last() *componentstatus.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.events) == 0 {
		return nil
	}
	return h.events[len(h.events)-1]
}
