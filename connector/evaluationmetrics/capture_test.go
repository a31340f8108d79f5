package evaluationmetrics

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
)

var scopeLabels = []string{"otel_scope_name", "otel_scope_schema_url", "otel_scope_version"}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}

// On a real Flipt v1.61.1's traces, every evaluation whose span carries its
// result is counted exactly as Flipt's own /metrics counted it; the rest is
// the Batch and OFREP bulk calls, whose spans name no flag.
func TestV1CapturesMatchFliptsCounters(t *testing.T) {
	h := newHarness(t, nil)
	tds := fliptcapture.Traces(t)
	h.consume(t, tds...)
	got := h.settle(t)
	flipt := fliptcapture.PromSeries(t, readFile(t, fliptcapture.Path("metrics.txt")), scopeLabels...)

	// The calls that carry no per-flag result in their spans.
	batchCalls := 0
	for _, td := range tds {
		for _, rs := range td.ResourceSpans().All() {
			for _, ss := range rs.ScopeSpans().All() {
				for _, sp := range ss.Spans().All() {
					if isBulk(sp.Name()) {
						batchCalls++
					}
				}
			}
		}
	}
	require.Equal(t, 6, batchCalls, "5 Batch calls and 1 OFREP EvaluateBulk in the captures")

	wantReq := byLabel(flipt, "flipt_evaluations_requests_total", "flag")
	gotReq := byLabel(got, "flipt_evaluations_requests_total", "flag")
	require.Len(t, wantReq, 3)
	for flag, n := range wantReq {
		// Each of the 6 calls evaluated all three flags.
		assert.Equal(t, n-float64(batchCalls), gotReq[flag], "requests of %s", flag)
	}
	// Every derived result series is one of Flipt's, never above it.
	wantRes := only(flipt, "flipt_evaluations_results_total")
	gotRes := only(got, "flipt_evaluations_results_total")
	require.NotEmpty(t, gotRes)
	for k, v := range gotRes {
		require.Contains(t, wantRes, k, "a series Flipt writes, with its label values")
		assert.LessOrEqual(t, v, wantRes[k], k)
	}
	assert.Equal(t, sum(wantRes)-3*float64(batchCalls), sum(gotRes), "results: the gap is the 18 flags of the 6 bulk calls")
	assert.Equal(t, 33.0, sum(gotRes))
	// Exact series for series on the endpoint mix of the single calls.
	assert.Equal(t, 7.0, gotRes[key("flipt_evaluations_results_total", "namespace", "default", "flag", "color", "match", "true",
		"segment", "beta-users", "reason", "MATCH_EVALUATION_REASON", "value", "blue", "type", "variant")], "6 Variant and 1 OFREP")
	assert.Equal(t, 5.0, gotRes[key("flipt_evaluations_results_total", "namespace", "default", "flag", "color", "match", "false",
		"reason", "DEFAULT_EVALUATION_REASON", "value", "red", "type", "variant")])
	assert.Equal(t, 6.0, gotRes[key("flipt_evaluations_results_total", "namespace", "default", "flag", "new-checkout",
		"reason", "MATCH_EVALUATION_REASON", "value", "true", "type", "boolean")])
	assert.Equal(t, 0.0, sum(only(got, "flipt_evaluations_errors_total")), "Flipt counted no evaluation error")
	assert.Equal(t, 0.0, sum(only(flipt, "flipt_evaluations_errors_total")))
	// Latency: one observation per counted result.
	assert.Equal(t, sum(gotRes), sum(only(got, "flipt_evaluations_latency_milliseconds_count")))

	skipped := h.skipped(t)
	assert.Equal(t, int64(6), skipped["bulk_without_response"])
	assert.Equal(t, int64(3), skipped["failed_without_flag"], "the 404, 400 and 401 calls")
}

// On a real Flipt v2.11.0's traces, with labels: v2, the derived requests,
// results and latency counts equal Flipt v2's own /metrics deltas series
// for series, every endpoint (batch and OFREP bulk included).
func TestV2CapturesMatchFliptsCountersSeriesForSeries(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Labels = LabelsV2 })
	h.consume(t, fliptcapture.V2Traces(t)...)
	for _, ld := range fliptcapture.V2Logs(t) {
		require.NoError(t, h.c.ConsumeLogs(t.Context(), ld)) // Flipt's own logs hold no evaluation events
	}
	got := h.settle(t)

	dir := fliptcapture.V2Dir()
	before := fliptcapture.PromSeries(t, readFile(t, filepath.Join(dir, "metrics-before.txt")), scopeLabels...)
	after := fliptcapture.PromSeries(t, readFile(t, filepath.Join(dir, "metrics-after.txt")), scopeLabels...)
	for _, prefix := range []string{"flipt_evaluations_requests_total{", "flipt_evaluations_results_total{", "flipt_evaluations_errors_total{", "flipt_evaluations_latency_milliseconds_count{"} {
		want := map[string]float64{}
		for k, v := range only(after, prefix) {
			if d := v - before[k]; d != 0 {
				want[k] = d
			}
		}
		assert.Equal(t, want, only(got, prefix), prefix)
	}
	assert.Equal(t, 422.0, sum(only(got, "flipt_evaluations_requests_total")))
	assert.Len(t, only(got, "flipt_evaluations_results_total"), 28)
	assert.Equal(t, int64(422), h.evaluations(t, "flipt_v2", "result"), "own telemetry")
	assert.Equal(t, int64(619), h.counter(t, "otelcol_evaluation_metrics_spans_examined"))
	assert.Equal(t, int64(1157), h.counter(t, "otelcol_evaluation_metrics_log_records_examined"))
}

func (h *harness) skipped(t *testing.T) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	m, err := h.tel.GetMetric("otelcol_evaluation_metrics_skipped")
	if err != nil {
		return out
	}
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		r, _ := dp.Attributes.Value("reason")
		out[r.AsString()] += dp.Value
	}
	return out
}

// counter sums one of the connector's own int counters.
func (h *harness) counter(t *testing.T, name string) int64 {
	t.Helper()
	m, err := h.tel.GetMetric(name)
	if err != nil {
		return 0
	}
	total := int64(0)
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		total += dp.Value
	}
	return total
}

func (h *harness) evaluations(t *testing.T, src, outcome string) int64 {
	t.Helper()
	m, err := h.tel.GetMetric("otelcol_evaluation_metrics_evaluations")
	require.NoError(t, err)
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		s, _ := dp.Attributes.Value("source")
		o, _ := dp.Attributes.Value("outcome")
		if s.AsString() == src && o.AsString() == outcome {
			return dp.Value
		}
	}
	return 0
}
