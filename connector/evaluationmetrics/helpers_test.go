package evaluationmetrics

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-flipt/otelcol-flipt/connector/evaluationmetrics/internal/metadata"
	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
)

// fakeClock is the injected clock; tests move it by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
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
	c     *evalConnector
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
	h := &harness{
		sink:  new(consumertest.MetricsSink),
		clock: &fakeClock{t: time.Date(2026, 11, 24, 20, 0, 0, 0, time.UTC)},
		tel:   componenttest.NewTelemetry(),
	}
	t.Cleanup(func() { require.NoError(t, h.tel.Shutdown(context.Background())) })
	set := connectortest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = h.tel.NewTelemetrySettings()
	c, err := newConnector(set, cfg, h.sink, h.clock.Now)
	require.NoError(t, err)
	h.c = c
	return h
}

func (h *harness) consume(t *testing.T, tds ...ptrace.Traces) {
	t.Helper()
	for _, td := range tds {
		require.NoError(t, h.c.ConsumeTraces(context.Background(), td))
	}
}

// settle flushes twice (zeros first, then the counts) and returns the
// last emission as series keys.
func (h *harness) settle(t *testing.T) map[string]float64 {
	t.Helper()
	h.clock.Advance(time.Second)
	h.c.flush(context.Background())
	h.clock.Advance(time.Second)
	return h.flush(t)
}

func (h *harness) flush(t *testing.T) map[string]float64 {
	t.Helper()
	before := len(h.sink.AllMetrics())
	h.c.flush(context.Background())
	all := h.sink.AllMetrics()
	if len(all) == before {
		return map[string]float64{}
	}
	return seriesOf(t, all[len(all)-1], sideLabel)
}

// seriesOf renders emitted metrics as Prometheus would name them, keyed
// like fliptcapture.PromSeries, checking every point's shape on the way.
func seriesOf(t *testing.T, md pmetric.Metrics, drop ...string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	put := func(name string, attrs pcommon.Map, extra map[string]string, v float64) {
		labels := map[string]string{}
		for k, val := range attrs.All() {
			labels[k] = promEscape(val.AsString())
		}
		for k, val := range extra {
			labels[k] = val
		}
		key := fliptcapture.SeriesKey(name, labels, drop...)
		out[key] += v
	}
	for _, rm := range md.ResourceMetrics().All() {
		for _, sm := range rm.ScopeMetrics().All() {
			require.Equal(t, metadata.ScopeName, sm.Scope().Name())
			for _, m := range sm.Metrics().All() {
				switch m.Type() {
				case pmetric.MetricTypeSum:
					require.True(t, m.Sum().IsMonotonic())
					require.Equal(t, pmetric.AggregationTemporalityCumulative, m.Sum().AggregationTemporality())
					for _, dp := range m.Sum().DataPoints().All() {
						require.NotEqual(t, pmetric.NumberDataPointValueTypeEmpty, dp.ValueType(), "a real value, not an empty point")
						require.NotZero(t, dp.StartTimestamp())
						v := float64(dp.IntValue())
						if dp.ValueType() == pmetric.NumberDataPointValueTypeDouble {
							v = dp.DoubleValue()
						}
						put(m.Name()+"_total", dp.Attributes(), nil, v)
					}
				case pmetric.MetricTypeHistogram:
					require.Equal(t, "ms", m.Unit())
					require.Equal(t, pmetric.AggregationTemporalityCumulative, m.Histogram().AggregationTemporality())
					for _, dp := range m.Histogram().DataPoints().All() {
						put(m.Name()+"_milliseconds_count", dp.Attributes(), nil, float64(dp.Count()))
						cum := uint64(0)
						for i, b := range dp.BucketCounts().All() {
							cum += b
							le := "+Inf"
							if i < dp.ExplicitBounds().Len() {
								le = strconv.FormatFloat(dp.ExplicitBounds().At(i), 'f', -1, 64)
							}
							put(m.Name()+"_milliseconds_bucket", dp.Attributes(), map[string]string{"le": le}, float64(cum))
						}
					}
				default:
					t.Fatalf("unexpected metric type %s", m.Type())
				}
			}
		}
	}
	return out
}

// promEscape escapes a label value as the exposition format writes it.
func promEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}

// only keeps the series whose name starts with prefix.
func only(m map[string]float64, prefix string) map[string]float64 {
	out := map[string]float64{}
	for k, v := range m {
		if strings.HasPrefix(k, prefix) {
			out[k] = v
		}
	}
	return out
}

// byLabel sums series of one name by the value of one label.
func byLabel(m map[string]float64, name, label string) map[string]float64 {
	out := map[string]float64{}
	for k, v := range m {
		if !strings.HasPrefix(k, name+"{") {
			continue
		}
		val := ""
		if i := strings.Index(k, label+`="`); i >= 0 {
			rest := k[i+len(label)+2:]
			val = rest[:strings.IndexByte(rest, '"')]
		}
		out[val] += v
	}
	return out
}

func sum(m map[string]float64) float64 {
	s := 0.0
	for _, v := range m {
		s += v
	}
	return s
}

// spanSpec builds synthetic spans compactly.
type spanSpec struct {
	name    string
	id      byte
	service string
	attrs   map[string]any
	events  []eventSpec
	status  ptrace.StatusCode
	durMs   float64
	state   string // tracestate
}

type eventSpec struct {
	name  string
	attrs map[string]any
}

func traces(specs ...spanSpec) ptrace.Traces {
	td := ptrace.NewTraces()
	byRes := map[string]ptrace.SpanSlice{}
	start := time.Date(2026, 11, 24, 19, 0, 0, 0, time.UTC)
	for _, s := range specs {
		svc := s.service
		if svc == "" {
			svc = "flipt"
		}
		spans, ok := byRes[svc]
		if !ok {
			rs := td.ResourceSpans().AppendEmpty()
			rs.Resource().Attributes().PutStr("service.name", svc)
			spans = rs.ScopeSpans().AppendEmpty().Spans()
			byRes[svc] = spans
		}
		sp := spans.AppendEmpty()
		sp.SetName(s.name)
		sp.SetTraceID(pcommon.TraceID{1, s.id})
		sp.SetSpanID(pcommon.SpanID{s.id, 1})
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Duration(s.durMs * float64(time.Millisecond)))))
		sp.TraceState().FromRaw(s.state)
		if err := sp.Attributes().FromRaw(s.attrs); err != nil {
			panic(err)
		}
		for _, ev := range s.events {
			e := sp.Events().AppendEmpty()
			e.SetName(ev.name)
			if err := e.Attributes().FromRaw(ev.attrs); err != nil {
				panic(err)
			}
		}
		sp.Status().SetCode(s.status)
	}
	return td
}

func key(name string, kv ...string) string {
	labels := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		labels[kv[i]] = kv[i+1]
	}
	return fliptcapture.SeriesKey(name, labels)
}

type nopMetrics struct{ consumertest.Consumer }

func (nopMetrics) ConsumeMetrics(context.Context, pmetric.Metrics) error { return nil }

func connectorSettings() connector.Settings { return connectortest.NewNopSettings(metadata.Type) }
