package evaluationmetrics

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
	"github.com/otelcol-flipt/otelcol-flipt/internal/promtest"
)

// fliptPushed is what Flipt v1 pushes with metrics.exporter: otlp: the
// same names, its own scope, no evaluation_side label.
func fliptPushed(requests int64) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "flipt")
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName("github.com/flipt-io/flipt")
	m := sm.Metrics().AppendEmpty()
	m.SetName("flipt_evaluations_requests")
	m.SetDescription("The total number of requested evaluations")
	s := m.SetEmptySum()
	s.SetIsMonotonic(true)
	s.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	dp := s.DataPoints().AppendEmpty()
	dp.Attributes().PutStr("namespace", "default")
	dp.Attributes().PutStr("flag", "color")
	dp.SetStartTimestamp(pcommon.NewTimestampFromTime(time.Now().Add(-time.Hour)))
	dp.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	dp.SetIntValue(requests)
	return md
}

const ourScope = `otel_scope_name="github.com/otelcol-flipt/otelcol-flipt/connector/evaluationmetrics",otel_scope_schema_url="",otel_scope_version=""`

// The real prometheus exporter, scraped over HTTP: Flipt's names with
// _total and _milliseconds_bucket, Flipt's label values, zeros first, and
// Flipt's own pushed series beside the derived ones without a clash.
func TestThroughPrometheusExporter(t *testing.T) {
	exp, url, logs := promtest.Start(t)
	h := newHarness(t, nil)
	h.clock.t = time.Now() // the exporter ages series by wall time
	h.consume(t, fliptcapture.Traces(t)...)
	h.c.flush(context.Background())
	all := h.sink.AllMetrics()
	require.NoError(t, exp.ConsumeMetrics(context.Background(), all[len(all)-1]))
	body := promtest.Scrape(t, url)
	assert.Contains(t, body, `flipt_evaluations_requests_total{evaluation_side="server",flag="color",job="flipt",namespace="default",`+ourScope+"} 0\n", "emitted at 0 first")

	h.clock.Advance(15 * time.Second)
	h.c.flush(context.Background())
	all = h.sink.AllMetrics()
	require.NoError(t, exp.ConsumeMetrics(context.Background(), all[len(all)-1]))
	require.NoError(t, exp.ConsumeMetrics(context.Background(), fliptPushed(23)))
	body = promtest.Scrape(t, url)
	for _, line := range []string{
		"# HELP flipt_evaluations_requests_total The total number of requested evaluations",
		"# TYPE flipt_evaluations_requests_total counter",
		"# TYPE flipt_evaluations_results_total counter",
		"# TYPE flipt_evaluations_latency_milliseconds histogram",
		`flipt_evaluations_requests_total{evaluation_side="server",flag="color",job="flipt",namespace="default",` + ourScope + `} 17`,
		`flipt_evaluations_results_total{evaluation_side="server",flag="color",job="flipt",match="true",namespace="default",` + ourScope + `,reason="MATCH_EVALUATION_REASON",segment="beta-users",type="variant",value="blue"} 7`,
		`flipt_evaluations_results_total{evaluation_side="server",flag="new-checkout",job="flipt",namespace="default",` + ourScope + `,reason="DEFAULT_EVALUATION_REASON",type="boolean",value="true"} 10`,
		`flipt_evaluations_latency_milliseconds_bucket{evaluation_side="server",flag="color",job="flipt",namespace="default",` + ourScope + `,le="+Inf"} 17`,
		`flipt_evaluations_latency_milliseconds_count{evaluation_side="server",flag="color",job="flipt",namespace="default",` + ourScope + `} 17`,
		// Flipt's own: same family, no evaluation_side, Flipt's scope.
		`flipt_evaluations_requests_total{flag="color",job="flipt",namespace="default",otel_scope_name="github.com/flipt-io/flipt",otel_scope_schema_url="",otel_scope_version=""} 23`,
	} {
		assert.Contains(t, body, line+"\n")
	}
	assert.Equal(t, 1, strings.Count(body, "# TYPE flipt_evaluations_requests_total "), "one metric family")
	assert.NotContains(t, body, "_total_total")
	// As in Flipt's own /metrics: an unmatched variant result has segment="".
	assert.Contains(t, body, `reason="DEFAULT_EVALUATION_REASON",segment="",type="variant",value="red"} 5`+"\n")
	promtest.Scrape(t, url)
	for _, e := range logs.All() {
		t.Errorf("exporter logged %s: %s %v", e.Level, e.Message, e.ContextMap())
	}
}

// labels: v2 through the real exporter: the scraped families equal Flipt
// v2's own /metrics deltas on the same traffic, series for series.
func TestV2ThroughPrometheusExporterEqualsFliptV2(t *testing.T) {
	exp, url, logs := promtest.Start(t)
	h := newHarness(t, func(c *Config) { c.Labels = LabelsV2 })
	h.clock.t = time.Now()
	h.consume(t, fliptcapture.V2Traces(t)...)
	for range 2 { // zeros, then the counts
		h.clock.Advance(time.Second)
		h.c.flush(context.Background())
		all := h.sink.AllMetrics()
		require.NoError(t, exp.ConsumeMetrics(context.Background(), all[len(all)-1]))
	}
	drop := append([]string{sideLabel, "job", "instance"}, scopeLabels...)
	got := fliptcapture.PromSeries(t, []byte(promtest.Scrape(t, url)), drop...)
	dir := fliptcapture.V2Dir()
	before := fliptcapture.PromSeries(t, readFile(t, filepath.Join(dir, "metrics-before.txt")), scopeLabels...)
	after := fliptcapture.PromSeries(t, readFile(t, filepath.Join(dir, "metrics-after.txt")), scopeLabels...)
	for _, prefix := range []string{"flipt_evaluations_requests_total{", "flipt_evaluations_results_total{", "flipt_evaluations_latency_milliseconds_count{"} {
		want := map[string]float64{}
		for k, v := range only(after, prefix) {
			if d := v - before[k]; d != 0 {
				want[k] = d
			}
		}
		assert.Equal(t, want, only(got, prefix), prefix)
	}
	for _, e := range logs.All() {
		t.Errorf("exporter logged %s: %s %v", e.Level, e.Message, e.ContextMap())
	}
}
