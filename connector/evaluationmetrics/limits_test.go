package evaluationmetrics

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func boolSpan(id byte, flag string) spanSpec {
	return spanSpec{name: "flipt.evaluation.EvaluationService/Boolean", id: id, attrs: map[string]any{
		"flipt.namespace": "default", "flipt.flag": flag, "flipt.value": true, "flipt.reason": "DEFAULT_EVALUATION_REASON",
		"flipt.entity_id": "user-" + flag, "flipt.request_id": "req", "flipt.segments": []any{},
	}}
}

// Series per metric are capped: beyond max_series evaluations land in one
// overflow series (counted), label values are cut, and entity_id and
// request_id never become labels.
func TestCapsAndOverflow(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MaxSeries = 3; c.MaxLabelLength = 16 })
	var specs []spanSpec
	for i := range 5 {
		specs = append(specs, boolSpan(byte(i+1), fmt.Sprintf("flag-%d", i)))
	}
	specs = append(specs, boolSpan(9, strings.Repeat("é", 20)))
	h.consume(t, traces(specs...))
	got := h.settle(t)
	req := only(got, "flipt_evaluations_requests_total")
	assert.Len(t, req, 4, "3 series and the overflow")
	assert.Equal(t, 3.0, req[`flipt_evaluations_requests_total{otel.metric.overflow="true"}`])
	assert.Equal(t, 6.0, sum(req), "nothing lost")
	for k := range got {
		assert.NotContains(t, k, "user-")
		assert.NotContains(t, k, "entity_id")
		assert.NotContains(t, k, "request_id")
		assert.NotContains(t, k, `"req"`)
	}
	assert.Equal(t, int64(3), h.counter(t, "otelcol_evaluation_metrics_overflow_evaluations"))

	h2 := newHarness(t, func(c *Config) { c.MaxLabelLength = 16 })
	h2.consume(t, traces(boolSpan(9, strings.Repeat("é", 20))))
	got2 := only(h2.settle(t), "flipt_evaluations_requests_total")
	assert.Equal(t, map[string]float64{key("flipt_evaluations_requests_total", "namespace", "default", "flag", strings.Repeat("é", 8)): 1}, got2, "cut to 16 bytes on a rune boundary")
	assert.Equal(t, int64(3), h2.counter(t, "otelcol_evaluation_metrics_labels_truncated"), "the requests, results and latency series of the long flag")
}

// A series idle for series_expiration is dropped, and restarts from 0.
func TestSeriesExpiry(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.SeriesExpiration = time.Minute })
	h.consume(t, traces(boolSpan(1, "a")))
	assert.Equal(t, 1.0, h.settle(t)[key("flipt_evaluations_requests_total", "namespace", "default", "flag", "a")])
	h.clock.Advance(2 * time.Minute)
	assert.Empty(t, h.flush(t))
	h.consume(t, traces(boolSpan(2, "a")))
	assert.Equal(t, 0.0, h.flush(t)[key("flipt_evaluations_requests_total", "namespace", "default", "flag", "a")], "a new series starts at 0")
}

// A re-sent export (the pipeline refused it further down) counts once.
func TestResentExportCountsOnce(t *testing.T) {
	h := newHarness(t, nil)
	td := traces(boolSpan(1, "a"), boolSpan(2, "a"))
	h.consume(t, td, td)
	assert.Equal(t, 2.0, h.settle(t)[key("flipt_evaluations_requests_total", "namespace", "default", "flag", "a")])
	assert.Equal(t, int64(2), h.skipped(t)["duplicate"])
}

// Sampled traces: a configured ratio per service, or the tracestate
// threshold, scales each count by 1/p.
func TestSamplingScalesCounts(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Sampling.Ratios = map[string]float64{"flipt": 0.25} })
	var specs []spanSpec
	for i := range 10 {
		specs = append(specs, boolSpan(byte(i+1), "a"))
	}
	third := boolSpan(99, "b")
	third.state = "ot=th:c;rv:12345678901234" // threshold 0xc/16: kept with p = 0.25
	half := boolSpan(98, "c")
	half.state = "vendor=x,ot=th:8"
	specs = append(specs, third, half)
	h.consume(t, traces(specs...))
	got := h.settle(t)
	assert.Equal(t, 40.0, got[key("flipt_evaluations_requests_total", "namespace", "default", "flag", "a")])
	assert.Equal(t, 4.0, got[key("flipt_evaluations_requests_total", "namespace", "default", "flag", "b")])
	assert.Equal(t, 2.0, got[key("flipt_evaluations_requests_total", "namespace", "default", "flag", "c")])
	assert.Equal(t, 40.0, got[key("flipt_evaluations_latency_milliseconds_count", "namespace", "default", "flag", "a")])
}

func TestThresholdParsing(t *testing.T) {
	for ts, want := range map[string]float64{
		"ot=th:0": 1, "ot=th:8": 0.5, "ot=rv:abc;th:c": 0.25, "a=b, ot=th:f": 1.0 / 16, "ot=th:fffffffffffff": 1.0 / (1 << 52),
	} {
		p, ok := thresholdProbability(ts)
		require.True(t, ok, ts)
		assert.InDelta(t, want, p, 1e-12, ts)
	}
	for _, ts := range []string{"", "ot=rv:1", "ot=th:", "ot=th:xyz", "ot=th:123456789012345", "x=th:8"} {
		_, ok := thresholdProbability(ts)
		assert.False(t, ok, ts)
	}
	assert.False(t, math.IsInf(1/0.5, 0))
}

// The same component in a traces and a logs pipeline is one connector: one
// set of series, started and stopped once.
func TestFactorySharesOneConnector(t *testing.T) {
	f := NewFactory()
	cfg := f.CreateDefaultConfig()
	set := connectorSettings()
	tc, err := f.CreateTracesToMetrics(context.Background(), set, cfg, nopMetrics{})
	require.NoError(t, err)
	lc, err := f.CreateLogsToMetrics(context.Background(), set, cfg, nopMetrics{})
	require.NoError(t, err)
	assert.Same(t, tc.(*handle).evalConnector, lc.(*handle).evalConnector)
	require.NoError(t, tc.Start(context.Background(), nil))
	require.NoError(t, lc.Start(context.Background(), nil))
	require.NoError(t, tc.Shutdown(context.Background()))
	require.NoError(t, lc.Shutdown(context.Background()))
	tc2, err := f.CreateTracesToMetrics(context.Background(), set, cfg, nopMetrics{})
	require.NoError(t, err)
	assert.NotSame(t, tc.(*handle).evalConnector, tc2.(*handle).evalConnector, "a new connector after both stopped")
	require.NoError(t, tc2.Shutdown(context.Background()))
}

// A clean stop emits the last counts, including a series made since the
// last flush (0 first, then its count).
func TestShutdownEmitsLastCounts(t *testing.T) {
	h := newHarness(t, nil)
	require.NoError(t, h.c.Start(context.Background(), nil))
	h.consume(t, traces(boolSpan(1, "a"), boolSpan(2, "a")))
	require.NoError(t, h.c.Shutdown(context.Background()))
	all := h.sink.AllMetrics()
	require.NotEmpty(t, all)
	got := seriesOf(t, all[len(all)-1], sideLabel)
	assert.Equal(t, 2.0, got[key("flipt_evaluations_requests_total", "namespace", "default", "flag", "a")])
}
