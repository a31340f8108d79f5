package cachemetrics

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/otelcol-flipt/otelcol-flipt/processor/cachemetrics/internal/metadata"
)

// fakeClock is the injected clock; tests move it by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 11, 24, 20, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type harness struct {
	c     *cacheConnector
	sink  *consumertest.MetricsSink
	clock *fakeClock
	tel   *componenttest.Telemetry
}

func newHarness(t *testing.T, mutate func(*Config)) *harness {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	if mutate != nil {
		mutate(cfg)
	}
	require.NoError(t, cfg.Validate())
	h := &harness{sink: new(consumertest.MetricsSink), clock: newFakeClock(), tel: componenttest.NewTelemetry()}
	t.Cleanup(func() { require.NoError(t, h.tel.Shutdown(context.Background())) })
	set := connectortest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = h.tel.NewTelemetrySettings()
	c, err := newConnector(set, cfg, h.sink, h.clock.Now)
	require.NoError(t, err)
	h.c = c
	return h
}

func (h *harness) consume(t *testing.T, td ptrace.Traces) {
	t.Helper()
	require.NoError(t, h.c.ConsumeTraces(context.Background(), td))
}

// flush emits and returns the points of that emission.
func (h *harness) flush(t *testing.T) map[string]int64 {
	t.Helper()
	before := len(h.sink.AllMetrics())
	h.c.flush(context.Background())
	all := h.sink.AllMetrics()
	if len(all) == before {
		return map[string]int64{}
	}
	return points(t, all[len(all)-1])
}

// settle lets every wait expire and returns the counts of the next flush
// (the first one shows new series at zero).
func settle(t *testing.T, h *harness) map[string]int64 {
	t.Helper()
	h.clock.Advance(time.Minute)
	h.flush(t)
	h.clock.Advance(15 * time.Second)
	return h.flush(t)
}

// points flattens metrics to "service metric cache/type" → value, checking
// the shape every point must have on the way.
func points(t *testing.T, md pmetric.Metrics) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, rm := range md.ResourceMetrics().All() {
		svc := ""
		if v, ok := rm.Resource().Attributes().Get("service.name"); ok {
			svc = v.Str()
		}
		if v, ok := rm.Resource().Attributes().Get("service.instance.id"); ok {
			svc += "@" + v.Str()
		}
		for _, sm := range rm.ScopeMetrics().All() {
			require.Equal(t, metadata.ScopeName, sm.Scope().Name())
			for _, m := range sm.Metrics().All() {
				require.Equal(t, pmetric.MetricTypeSum, m.Type())
				require.True(t, m.Sum().IsMonotonic())
				require.Equal(t, pmetric.AggregationTemporalityCumulative, m.Sum().AggregationTemporality())
				require.Equal(t, "{lookup}", m.Unit())
				for _, dp := range m.Sum().DataPoints().All() {
					require.NotZero(t, dp.StartTimestamp())
					require.GreaterOrEqual(t, dp.Timestamp(), dp.StartTimestamp())
					var labels string
					if v, ok := dp.Attributes().Get(overflowLabel); ok {
						labels = "overflow=" + v.Str()
					} else {
						c, _ := dp.Attributes().Get(labelCache)
						ty, _ := dp.Attributes().Get(labelType)
						labels = c.Str() + "/" + ty.Str()
					}
					key := fmt.Sprintf("%s %s %s", svc, m.Name(), labels)
					_, dup := out[key]
					require.False(t, dup, "duplicate point %s", key)
					out[key] = dp.IntValue()
				}
			}
		}
	}
	return out
}

// spanSpec builds synthetic spans compactly.
type spanSpec struct {
	name          string
	trace         byte
	id, parent    byte
	attrs         map[string]any
	events        []map[string]any
	statusErr     bool
	serviceName   string
	serviceInstID string
}

func traces(specs ...spanSpec) ptrace.Traces {
	td := ptrace.NewTraces()
	byRes := map[string]ptrace.SpanSlice{}
	for _, s := range specs {
		svc := s.serviceName
		if svc == "" {
			svc = "flipt"
		}
		rk := svc + "\x00" + s.serviceInstID
		spans, ok := byRes[rk]
		if !ok {
			rs := td.ResourceSpans().AppendEmpty()
			rs.Resource().Attributes().PutStr("service.name", svc)
			if s.serviceInstID != "" {
				rs.Resource().Attributes().PutStr("service.instance.id", s.serviceInstID)
			}
			spans = rs.ScopeSpans().AppendEmpty().Spans()
			byRes[rk] = spans
		}
		sp := spans.AppendEmpty()
		sp.SetName(s.name)
		sp.SetTraceID(pcommon.TraceID{s.trace + 1})
		sp.SetSpanID(pcommon.SpanID{s.id})
		if s.parent != 0 {
			sp.SetParentSpanID(pcommon.SpanID{s.parent})
		}
		must(sp.Attributes().FromRaw(s.attrs))
		for _, ev := range s.events {
			e := sp.Events().AppendEmpty()
			e.SetName("cache")
			must(e.Attributes().FromRaw(ev))
		}
		if s.statusErr {
			sp.Status().SetCode(ptrace.StatusCodeError)
		}
	}
	return td
}

const captures = "../../testdata/flipt-v1.61.1/otlp"

// loadCaptures decodes the 8 OTLP/HTTP bodies a real Flipt v1.61.1 sent.
func loadCaptures(t testing.TB) []ptrace.Traces {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(captures, "*-v1_traces.bin"))
	require.NoError(t, err)
	require.Len(t, files, 8)
	out := make([]ptrace.Traces, 0, len(files))
	for _, f := range files {
		body, err := os.ReadFile(f)
		require.NoError(t, err)
		req := ptraceotlp.NewExportRequest()
		require.NoError(t, req.UnmarshalProto(body))
		out = append(out, req.Traces())
	}
	return out
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

func pcommonTime(t time.Time) pcommon.Timestamp { return pcommon.NewTimestampFromTime(t) }
