package cachemetrics

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/otelcol-flipt/otelcol-flipt/processor/cachemetrics/internal/metadatatest"
)

func lookupPoint(outcome, rule string, n int64) metricdata.DataPoint[int64] {
	return metricdata.DataPoint[int64]{
		Attributes: attribute.NewSet(attribute.String("outcome", outcome), attribute.String("rule", rule)),
		Value:      n,
	}
}

func TestInternalTelemetry(t *testing.T) {
	h := newHarness(t, func(c *Config) { withPreset(c); c.Inference.MaxEntries = 10 })
	for _, td := range loadCaptures(t) {
		h.consume(t, td)
	}
	h.consume(t, traces(
		lookupSpan(1, true, "memory", "segment", "flipt", ""),
		lookupSpan(2, "miss", "memory", "segment", "flipt", ""),
	))
	h.clock.Advance(time.Minute)
	h.flush(t)

	opts := []metricdatatest.Option{metricdatatest.IgnoreTimestamp()}
	metadatatest.AssertEqualCacheMetricsSpansExamined(t, h.tel,
		[]metricdata.DataPoint[int64]{{Value: 618}}, opts...)
	// A 10-entry table loses marks on these bodies, so some misses turn
	// into hits: the price of the bound, visible in the evictions counter.
	got, err := h.tel.GetMetric("otelcol_cache_metrics_lookups")
	require.NoError(t, err)
	var total int64
	for _, dp := range got.Data.(metricdata.Sum[int64]).DataPoints {
		total += dp.Value
	}
	assert.Equal(t, int64(44+2), total, "every lookup counted once")
	ev, err := h.tel.GetMetric("otelcol_cache_metrics_inference_evictions")
	require.NoError(t, err)
	assert.Equal(t, int64(h.c.inf.evictions()), ev.Data.(metricdata.Sum[int64]).DataPoints[0].Value)
	assert.Positive(t, h.c.inf.evictions())
	metadatatest.AssertEqualCacheMetricsSeries(t, h.tel,
		[]metricdata.DataPoint[int64]{{Value: 3}}, opts...)
	metadatatest.AssertEqualCacheMetricsInferenceTableSize(t, h.tel,
		[]metricdata.DataPoint[int64]{{Value: int64(h.c.inf.size())}}, opts...)
}

func TestInternalTelemetryLookupsAndOverflow(t *testing.T) {
	h := newHarness(t, func(c *Config) { withPreset(c); c.MaxSeries = 2 })
	for _, td := range loadCaptures(t) {
		h.consume(t, td)
	}
	h.consume(t, traces(
		lookupSpan(1, true, "memory", "segment", "flipt", ""),
		lookupSpan(2, "miss", "memory", "segment", "flipt", ""),
		lookupSpan(3, "miss", "memory", "segment", "flipt", ""),
	))
	h.clock.Advance(time.Minute)
	h.flush(t)
	opts := []metricdatatest.Option{metricdatatest.IgnoreTimestamp()}
	metadatatest.AssertEqualCacheMetricsLookups(t, h.tel, []metricdata.DataPoint[int64]{
		lookupPoint("hit", "attribute", 1),
		lookupPoint("miss", "attribute", 2),
		lookupPoint("hit", "inference", 37),
		lookupPoint("miss", "inference", 7),
	}, opts...)
	// memory/evaluation and memory/segment fill the two series; the two
	// GetFlag hits, decided after their wait, find no room.
	metadatatest.AssertEqualCacheMetricsOverflowLookups(t, h.tel,
		[]metricdata.DataPoint[int64]{{Value: 2}}, opts...)
}
