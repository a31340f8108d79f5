package cachemetrics

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-flipt/otelcol-flipt/internal/promtest"
)

// fliptOwnMetrics is what Flipt v1.61 pushes with metrics.exporter: otlp:
// its counters are named in Prometheus style and carry only `cache`.
func fliptOwnMetrics(hits, misses int64) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	ra := rm.Resource().Attributes()
	ra.PutStr("service.name", "flipt")
	ra.PutStr("service.version", "v1.61.1")
	ra.PutStr("host.name", "vm")
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName("github.com/flipt-io/flipt")
	start := time.Now().Add(-time.Hour)
	for _, c := range []struct {
		name, desc string
		v          int64
	}{
		{"flipt_cache_hit_total", "The number of cache hits", hits},
		{"flipt_cache_miss_total", "The number of cache misses", misses},
	} {
		m := sm.Metrics().AppendEmpty()
		m.SetName(c.name)
		m.SetDescription(c.desc)
		s := m.SetEmptySum()
		s.SetIsMonotonic(true)
		s.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		dp := s.DataPoints().AppendEmpty()
		dp.Attributes().PutStr("cache", "memory")
		dp.SetStartTimestamp(pcommonTime(start))
		dp.SetTimestamp(pcommonTime(time.Now()))
		dp.SetIntValue(c.v)
	}
	return md
}

const ourScope = `otel_scope_name="github.com/otelcol-flipt/otelcol-flipt/processor/cachemetrics",otel_scope_schema_url="",otel_scope_version=""`

func TestThroughPrometheusExporter(t *testing.T) {
	exp, url, logs := promtest.Start(t)
	h := newHarness(t, withPreset)
	h.clock.t = time.Now() // the exporter ages series by wall time

	for _, td := range loadCaptures(t) {
		h.consume(t, td)
	}
	h.consume(t, traces(lookupSpan(1, true, "redis", "flag", "flipt", "")))
	h.clock.Advance(time.Minute)
	h.flush(t) // zeros first
	zeros := h.sink.AllMetrics()[len(h.sink.AllMetrics())-1]
	require.NoError(t, exp.ConsumeMetrics(context.Background(), zeros))
	body := promtest.Scrape(t, url)
	assert.Contains(t, body, `flipt_cache_hit_total{cache="memory",job="flipt",`+ourScope+`,type="evaluation"} 0`)

	h.clock.Advance(15 * time.Second)
	h.flush(t)
	require.NoError(t, exp.ConsumeMetrics(context.Background(), h.sink.AllMetrics()[len(h.sink.AllMetrics())-1]))
	// Flipt's own counters arrive in the same exporter.
	require.NoError(t, exp.ConsumeMetrics(context.Background(), fliptOwnMetrics(350, 14)))

	body = promtest.Scrape(t, url)
	for _, line := range []string{
		"# HELP flipt_cache_hit_total The number of cache hits",
		"# TYPE flipt_cache_hit_total counter",
		"# TYPE flipt_cache_miss_total counter",
		"# TYPE flipt_cache_error_total counter",
		`flipt_cache_hit_total{cache="memory",job="flipt",` + ourScope + `,type="evaluation"} 35`,
		`flipt_cache_miss_total{cache="memory",job="flipt",` + ourScope + `,type="evaluation"} 7`,
		`flipt_cache_error_total{cache="memory",job="flipt",` + ourScope + `,type="evaluation"} 0`,
		`flipt_cache_hit_total{cache="memory",job="flipt",` + ourScope + `,type="flag"} 2`,
		`flipt_cache_hit_total{cache="redis",job="flipt",` + ourScope + `,type="flag"} 1`,
		// Flipt's own series: same names, no type label, its own scope.
		`flipt_cache_hit_total{cache="memory",job="flipt",otel_scope_name="github.com/flipt-io/flipt",otel_scope_schema_url="",otel_scope_version=""} 350`,
		`flipt_cache_miss_total{cache="memory",job="flipt",otel_scope_name="github.com/flipt-io/flipt",otel_scope_schema_url="",otel_scope_version=""} 14`,
	} {
		assert.Contains(t, body, line+"\n")
	}
	assert.Equal(t, 1, strings.Count(body, "# TYPE flipt_cache_hit_total "), "one metric family")
	assert.NotContains(t, body, "flipt_cache_hit_total_total")
	// Scraping twice must stay clean: errors and conflicts are logged by
	// the exporter (promhttp ContinueOnError), so no log is the proof.
	promtest.Scrape(t, url)
	for _, e := range logs.All() {
		t.Errorf("exporter logged %s: %s %v", e.Level, e.Message, e.ContextMap())
	}
}

// The proof above rests on the exporter's log; check that a clash does show
// there. Without the `type` label and our own scope, an OTLP-named counter
// and Flipt's Prometheus-named one become the same series after translation.
func TestPrometheusClashIsDetected(t *testing.T) {
	exp, url, logs := promtest.Start(t)
	clash := fliptOwnMetrics(1, 1)
	m := clash.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0)
	m.SetName("flipt.cache.hit")
	m.SetUnit("{lookup}")
	require.NoError(t, exp.ConsumeMetrics(context.Background(), fliptOwnMetrics(2, 2)))
	require.NoError(t, exp.ConsumeMetrics(context.Background(), clash))
	promtest.Scrape(t, url)
	found := false
	for _, e := range logs.All() {
		err, _ := e.ContextMap()["error"].(string)
		found = found || strings.Contains(e.Message+err, "collected before with the same name and label values")
	}
	assert.True(t, found, "duplicate series must show in the exporter's log")
}

// The default pipeline's shape with real time: the connector built by its
// factory with the flipt preset, its ticker flushing into the exporter,
// Flipt's own metrics arriving beside it.
func TestFactoryPipelineToPrometheus(t *testing.T) {
	exp, url, logs := promtest.Start(t)
	f := NewFactory()
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.Preset = PresetFlipt
	cfg.FlushInterval = 20 * time.Millisecond
	cfg.Inference.Wait = 50 * time.Millisecond
	require.NoError(t, cfg.Validate())
	c, err := f.CreateTracesToMetrics(context.Background(), connectortest.NewNopSettings(f.Type()), cfg, exp)
	require.NoError(t, err)
	require.NoError(t, c.Start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(t, c.Shutdown(context.Background())) }()

	for _, td := range loadCaptures(t) {
		require.NoError(t, c.ConsumeTraces(context.Background(), td))
	}
	require.NoError(t, exp.ConsumeMetrics(context.Background(), fliptOwnMetrics(350, 14)))
	want := `flipt_cache_hit_total{cache="memory",job="flipt",` + ourScope + `,type="evaluation"} 35` + "\n"
	var body string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		// Time passes: an empty batch pushes the held hits out.
		require.NoError(t, c.ConsumeTraces(context.Background(), ptrace.NewTraces()))
		if body = promtest.Scrape(t, url); strings.Contains(body, want) {
			break
		}
	}
	require.Contains(t, body, want)
	assert.Contains(t, body, `flipt_cache_miss_total{cache="memory",job="flipt",`+ourScope+`,type="evaluation"} 7`+"\n")
	assert.Contains(t, body, `flipt_cache_hit_total{cache="memory",job="flipt",otel_scope_name="github.com/flipt-io/flipt",otel_scope_schema_url="",otel_scope_version=""} 350`+"\n")
	for _, e := range logs.All() {
		t.Errorf("exporter logged %s: %s %v", e.Level, e.Message, e.ContextMap())
	}
}

// 1,000 series whose cache label is 100 KB each made one scrape 300 MB
// before labels were cut; cut to 256 bytes, the scrape stays small and
// every series is still told apart by its first bytes.
func TestLongLabelsKeepScrapeSmall(t *testing.T) {
	exp, url, logs := promtest.Start(t)
	h := newHarness(t, nil)
	h.clock.t = time.Now() // the exporter ages series by wall time
	const series, valueLen = 1000, 100_000
	pad := strings.Repeat("x", valueLen)
	for first := 0; first < series; first += 50 { // 5 MB of labels a batch
		var specs []spanSpec
		for i := first; i < first+50; i++ {
			s := lookupSpan(byte(i%250+1), true, fmt.Sprintf("cache-%04d-", i)+pad, "flag", "flipt", "a")
			s.trace = byte(i / 250) // a span of its own, or dedup would count it once
			specs = append(specs, s)
		}
		h.consume(t, traces(specs...))
	}
	h.flush(t) // zeros first
	h.clock.Advance(time.Second)
	h.flush(t)
	require.NoError(t, exp.ConsumeMetrics(context.Background(), h.sink.AllMetrics()[len(h.sink.AllMetrics())-1]))
	body := promtest.Scrape(t, url)

	assert.Equal(t, series, strings.Count(body, "flipt_cache_hit_total{"), "every series exported, none merged")
	assert.Contains(t, body, `cache="cache-0999-`+strings.Repeat("x", 256-len("cache-0999-"))+`..."`)
	assert.Less(t, len(body), 2<<20, "scrape size with %d-byte values", valueLen)
	t.Logf("scrape of %d series x 3 counters with %d-byte cache values: %d bytes", series, valueLen, len(body))
	for _, e := range logs.All() {
		t.Errorf("exporter logged %s: %s %v", e.Level, e.Message, e.ContextMap())
	}
}
