package cachemetrics

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

func lookupSpan(id byte, hitVal any, cache, typ, svc, inst string) spanSpec {
	return spanSpec{
		name: "get", id: id, serviceName: svc, serviceInstID: inst,
		attrs: map[string]any{"cache.hit": hitVal, "cache.backend": cache, "cache.type": typ},
	}
}

func TestCumulativeStartTimesAndResources(t *testing.T) {
	h := newHarness(t, nil)
	h.consume(t, traces(
		lookupSpan(1, true, "memory", "flag", "flipt", "a"),
		lookupSpan(2, true, "memory", "flag", "flipt", "b"),
	))
	start := h.clock.Now()
	h.flush(t)
	first := h.sink.AllMetrics()[0]
	require.Equal(t, 2, first.ResourceMetrics().Len(), "one resource per source instance")
	for _, rm := range first.ResourceMetrics().All() {
		attrs := rm.Resource().Attributes().AsRaw()
		assert.Len(t, attrs, 2)
		assert.Equal(t, "flipt", attrs["service.name"])
		for _, m := range rm.ScopeMetrics().At(0).Metrics().All() {
			assert.Equal(t, int64(0), m.Sum().DataPoints().At(0).IntValue(), "series start at 0")
		}
	}

	for i := range 3 {
		h.clock.Advance(15 * time.Second)
		h.consume(t, traces(lookupSpan(byte(10+i), false, "memory", "flag", "flipt", "a")))
		got := h.flush(t)
		assert.Equal(t, int64(1), got["flipt@a flipt.cache.hit memory/flag"])
		assert.Equal(t, int64(1), got["flipt@b flipt.cache.hit memory/flag"])
		assert.Equal(t, int64(i+1), got["flipt@a flipt.cache.miss memory/flag"], "cumulative across flushes")
	}
	// Every point of instance a keeps the start time of its first sight.
	for _, md := range h.sink.AllMetrics() {
		for _, rm := range md.ResourceMetrics().All() {
			for _, m := range rm.ScopeMetrics().At(0).Metrics().All() {
				dp := m.Sum().DataPoints().At(0)
				assert.Equal(t, pcommon.NewTimestampFromTime(start), dp.StartTimestamp())
			}
		}
	}
}

func TestSeriesExpiration(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.SeriesExpiration = time.Minute })
	h.consume(t, traces(lookupSpan(1, true, "memory", "flag", "flipt", "")))
	h.flush(t)
	h.clock.Advance(30 * time.Second)
	assert.Equal(t, int64(1), h.flush(t)["flipt flipt.cache.hit memory/flag"])
	h.clock.Advance(31 * time.Second)
	assert.Empty(t, h.flush(t), "idle series are no longer exported")
	assert.Zero(t, h.c.store.n)
	assert.Empty(t, h.c.store.resources)

	// The server comes back: a new series, new start time, from zero.
	h.consume(t, traces(lookupSpan(2, true, "memory", "flag", "flipt", "")))
	restart := pcommon.NewTimestampFromTime(h.clock.Now())
	assert.Equal(t, int64(0), h.flush(t)["flipt flipt.cache.hit memory/flag"])
	last := h.sink.AllMetrics()[len(h.sink.AllMetrics())-1]
	assert.Equal(t, restart, last.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Sum().DataPoints().At(0).StartTimestamp())
}

func TestMaxSeriesOverflow(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MaxSeries = 2 })
	h.consume(t, traces(
		lookupSpan(1, true, "memory", "flag", "flipt", "a"),
		lookupSpan(2, true, "memory", "segment", "flipt", "a"),
		lookupSpan(3, true, "memory", "rule", "flipt", "a"),  // overflow
		lookupSpan(4, false, "memory", "flag", "flipt", "b"), // overflow: new instance
		lookupSpan(5, false, "memory", "flag", "flipt", "a"), // existing series
	))
	h.flush(t)
	h.clock.Advance(time.Second)
	got := h.flush(t)
	assert.Equal(t, map[string]int64{
		"flipt@a flipt.cache.hit memory/flag":      1,
		"flipt@a flipt.cache.miss memory/flag":     1,
		"flipt@a flipt.cache.error memory/flag":    0,
		"flipt@a flipt.cache.hit memory/segment":   1,
		"flipt@a flipt.cache.miss memory/segment":  0,
		"flipt@a flipt.cache.error memory/segment": 0,
		" flipt.cache.hit overflow=true":           1,
		" flipt.cache.miss overflow=true":          1,
		" flipt.cache.error overflow=true":         0,
	}, got)
	assert.Equal(t, 2, h.c.store.n)
}

// Many writers and the flusher at once, under -race: totals must add up.
func TestConcurrentConsumeAndFlush(t *testing.T) {
	h := newHarness(t, withPreset)
	bodies := loadCaptures(t)
	const workers = 4
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				s := lookupSpan(byte(i+1), i%2 == 0, "memory", fmt.Sprint("t", w), "flipt", "")
				s.trace = byte(w) // a span of its own, or dedup would count it once
				h.consume(t, traces(s))
				// Read-only use of shared pdata from several goroutines.
				h.consume(t, bodies[i%len(bodies)])
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 20 {
			h.c.flush(context.Background())
		}
	}()
	wg.Wait()
	h.clock.Advance(time.Minute)
	h.flush(t)
	got := h.flush(t)
	for w := range workers {
		k := fmt.Sprint("t", w)
		assert.Equal(t, int64(25), got["flipt flipt.cache.hit unknown/"+k]+got["flipt flipt.cache.hit memory/"+k])
		assert.Equal(t, int64(25), got["flipt flipt.cache.miss memory/"+k])
	}
}

func TestStartShutdownTicker(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.FlushInterval = 5 * time.Millisecond })
	require.NoError(t, h.c.Start(context.Background(), componenttest.NewNopHost()))
	h.consume(t, traces(lookupSpan(1, true, "memory", "flag", "flipt", "")))
	assert.Eventually(t, func() bool { return h.sink.DataPointCount() > 0 }, 5*time.Second, 5*time.Millisecond)
	require.NoError(t, h.c.Shutdown(context.Background()))
	require.NoError(t, h.c.Shutdown(context.Background()))
}

func TestNoMetricsWhenNothingSeen(t *testing.T) {
	h := newHarness(t, nil)
	h.consume(t, ptrace.NewTraces())
	h.consume(t, traces(spanSpec{name: "plain", id: 1}))
	assert.Empty(t, h.flush(t))
	assert.Zero(t, h.sink.DataPointCount())
	assert.Empty(t, h.c.store.resources, "resources without lookups keep no state")
}
