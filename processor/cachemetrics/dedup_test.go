package cachemetrics

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/otelcol-flipt/otelcol-flipt/processor/cachemetrics/internal/metadatatest"
)

// attributeExport is one export of attribute-rule lookups: two span lookups
// and a span whose two events are lookups.
func attributeExport() ptrace.Traces {
	return traces(
		spanSpec{name: "get", trace: 7, id: 1, attrs: map[string]any{"cache.hit": true, "cache.backend": "redis", "cache.type": "flag"}},
		spanSpec{name: "get", trace: 7, id: 2, attrs: map[string]any{"cache.hit": false, "cache.backend": "redis", "cache.type": "flag"}},
		spanSpec{name: "handler", trace: 7, id: 3, events: []map[string]any{
			{"cache.hit": true, "cache.backend": "redis", "cache.type": "rules"},
			{"cache.hit": false, "cache.backend": "redis", "cache.type": "rules"},
		}},
	)
}

// What the fan-out does when the other branch refuses twice: this connector
// is handed the same export three times. Re-sent while the inferred lookups
// still wait (back to back) or after they were decided, it counts once.
func TestResentExportCountsOnce(t *testing.T) {
	bodies := loadCaptures(t)
	want := expectedFromTrees(bodies)
	for k, v := range map[string]int64{
		"flipt flipt.cache.hit redis/flag": 1, "flipt flipt.cache.miss redis/flag": 1, "flipt flipt.cache.error redis/flag": 0,
		"flipt flipt.cache.hit redis/rules": 1, "flipt flipt.cache.miss redis/rules": 1, "flipt flipt.cache.error redis/rules": 0,
	} {
		want[k] = v
	}
	exports := append(append([]ptrace.Traces(nil), bodies...), attributeExport())
	// 44 inferred lookup spans in the captures, 3 attribute lookup spans.
	const lookupSpans = 44 + 3

	t.Run("while waiting", func(t *testing.T) {
		h := newHarness(t, withPreset)
		for _, td := range exports {
			for range 3 {
				h.consume(t, td)
			}
			h.clock.Advance(100 * time.Millisecond)
		}
		assert.Equal(t, want, settle(t, h))
		metadatatest.AssertEqualCacheMetricsDedupDuplicates(t, h.tel,
			[]metricdata.DataPoint[int64]{{Value: 2 * lookupSpans}}, metricdatatest.IgnoreTimestamp())
	})
	t.Run("after deciding", func(t *testing.T) {
		h := newHarness(t, withPreset)
		for range 3 {
			for _, td := range exports {
				h.consume(t, td)
			}
			h.clock.Advance(3 * time.Second) // past inference::wait
		}
		assert.Equal(t, want, settle(t, h))
	})
	t.Run("off counts three times", func(t *testing.T) {
		h := newHarness(t, func(c *Config) { withPreset(c); c.Dedup.Window = 0 })
		for _, td := range exports {
			for range 3 {
				h.consume(t, td)
			}
		}
		got := settle(t, h)
		for k, v := range want {
			assert.Equal(t, 3*v, got[k], k)
		}
	})
}

// Only the span's identity makes it a duplicate: the same attributes on a
// new span, or the same span ID in another trace, is another lookup.
func TestNewSpanWithSameAttributesCounts(t *testing.T) {
	h := newHarness(t, withPreset)
	attrs := map[string]any{"cache.hit": true, "cache.backend": "redis", "cache.type": "flag"}
	const eval = "flipt.evaluation.EvaluationService/Variant"
	h.consume(t, traces(
		spanSpec{name: "get", trace: 1, id: 1, attrs: attrs},
		spanSpec{name: "get", trace: 1, id: 2, attrs: attrs},
		spanSpec{name: "get", trace: 2, id: 1, attrs: attrs},
		spanSpec{name: eval, trace: 1, id: 3},
		spanSpec{name: eval, trace: 1, id: 4},
	))
	h.consume(t, traces(
		spanSpec{name: "get", trace: 1, id: 1, attrs: attrs}, // the first one again
		spanSpec{name: "get", trace: 3, id: 1, attrs: attrs}, // new trace
		spanSpec{name: eval, trace: 1, id: 3},                // again
		spanSpec{name: eval, trace: 2, id: 3},                // new trace
	))
	got := settle(t, h)
	assert.Equal(t, int64(4), got["flipt flipt.cache.hit redis/flag"])
	assert.Equal(t, int64(3), got["flipt flipt.cache.hit memory/evaluation"])
}

// The same span twice in one export (two exports merged upstream) counts once.
func TestDuplicateInsideOneExport(t *testing.T) {
	h := newHarness(t, withPreset)
	const eval = "flipt.evaluation.EvaluationService/Variant"
	sql := map[string]any{"db.system.name": "sqlite"}
	h.consume(t, traces(
		spanSpec{name: eval, trace: 1, id: 1},
		spanSpec{name: "sql.rows", trace: 1, id: 2, parent: 1, attrs: sql},
		spanSpec{name: eval, trace: 1, id: 1},
		spanSpec{name: "sql.rows", trace: 1, id: 2, parent: 1, attrs: sql},
		lookupSpan(5, false, "redis", "flag", "flipt", ""),
		lookupSpan(5, false, "redis", "flag", "flipt", ""),
	))
	got := settle(t, h)
	assert.Equal(t, int64(1), got["flipt flipt.cache.miss memory/evaluation"])
	assert.Equal(t, int64(0), got["flipt flipt.cache.hit memory/evaluation"])
	assert.Equal(t, int64(1), got["flipt flipt.cache.miss redis/flag"])
}

// A span whose events are attribute lookups and whose name is an inference
// rule's counts by both on first sight, and by neither when re-sent.
func TestEventsAndInferenceOnOneSpan(t *testing.T) {
	h := newHarness(t, withPreset)
	td := traces(spanSpec{name: "flipt.Flipt/GetFlag", trace: 1, id: 1, events: []map[string]any{
		{"cache.hit": true, "cache.backend": "redis", "cache.type": "segment"},
	}})
	h.consume(t, td)
	h.consume(t, td)
	got := settle(t, h)
	assert.Equal(t, int64(1), got["flipt flipt.cache.hit redis/segment"])
	assert.Equal(t, int64(1), got["flipt flipt.cache.hit memory/flag"])
}

// Spans without IDs cannot be told apart: each one counts.
func TestSpansWithoutIDsAlwaysCount(t *testing.T) {
	h := newHarness(t, nil)
	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	for i := range 3 {
		s := spans.AppendEmpty()
		s.Attributes().PutBool("cache.hit", true)
		if i == 2 {
			s.SetTraceID(pcommon.TraceID{1}) // a span ID is missing still
		}
	}
	h.consume(t, td)
	h.consume(t, td)
	assert.Equal(t, int64(6), settle(t, h)[" flipt.cache.hit unknown/unknown"])
	assert.Zero(t, h.c.dedup.seen.Len())
}

// The window is counted from first sight; a re-send after it counts again.
func TestDedupWindowExpiry(t *testing.T) {
	h := newHarness(t, func(c *Config) { withPreset(c); c.Dedup.Window = time.Minute })
	td := traces(
		lookupSpan(1, true, "redis", "flag", "flipt", ""),
		spanSpec{name: "flipt.Flipt/GetFlag", id: 2},
	)
	h.consume(t, td)
	h.clock.Advance(59 * time.Second)
	h.consume(t, td) // within the window
	h.clock.Advance(time.Second)
	h.consume(t, td) // the window is over
	got := settle(t, h)
	assert.Equal(t, int64(2), got["flipt flipt.cache.hit redis/flag"])
	assert.Equal(t, int64(2), got["flipt flipt.cache.hit memory/flag"])
	assert.Zero(t, h.c.dedup.seen.Len(), "expired identities are dropped at flush")
	metadatatest.AssertEqualCacheMetricsDedupDuplicates(t, h.tel,
		[]metricdata.DataPoint[int64]{{Value: 2}}, metricdatatest.IgnoreTimestamp())
}

// At max_entries the oldest identity is forgotten first, and counted in
// telemetry: its re-send counts again, a younger one's does not.
func TestDedupCapEviction(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Dedup.MaxEntries = 2 })
	a := lookupSpan(1, true, "redis", "flag", "flipt", "")
	b := lookupSpan(2, true, "redis", "flag", "flipt", "")
	c := lookupSpan(3, true, "redis", "flag", "flipt", "")
	h.consume(t, traces(a, b, c)) // a is forgotten to make room for c
	h.consume(t, traces(c))       // still remembered
	h.consume(t, traces(a))       // counted again; b makes room
	assert.Equal(t, int64(4), settle(t, h)["flipt flipt.cache.hit redis/flag"])
	opts := []metricdatatest.Option{metricdatatest.IgnoreTimestamp()}
	metadatatest.AssertEqualCacheMetricsDedupEvictions(t, h.tel,
		[]metricdata.DataPoint[int64]{{Value: 2}}, opts...)
	metadatatest.AssertEqualCacheMetricsDedupDuplicates(t, h.tel,
		[]metricdata.DataPoint[int64]{{Value: 1}}, opts...)
	metadatatest.AssertEqualCacheMetricsDedupTableSize(t, h.tel,
		[]metricdata.DataPoint[int64]{{Value: 2}}, opts...)
	require.Equal(t, 2, h.c.dedup.seen.Len())
}

// A re-send regrouped upstream can carry the backend span the first copy of
// a held lookup lacked: the held lookup then becomes the one miss.
func TestResentWithBackendSpanMarksTheHeldLookup(t *testing.T) {
	const eval = "flipt.evaluation.EvaluationService/Variant"
	sql := map[string]any{"db.system.name": "sqlite"}
	for _, events := range []bool{false, true} {
		h := newHarness(t, withPreset)
		lookup := spanSpec{name: eval, trace: 1, id: 1}
		if events { // an event lookup too: the span goes through the attribute path first
			lookup.events = []map[string]any{{"cache.hit": true, "cache.backend": "redis", "cache.type": "segment"}}
		}
		h.consume(t, traces(lookup)) // held: no backend span yet
		// The backend span first, so the lookup is seen already marked.
		h.consume(t, traces(spanSpec{name: "sql.rows", trace: 1, id: 2, parent: 1, attrs: sql}, lookup))
		got := settle(t, h)
		assert.Equal(t, int64(1), got["flipt flipt.cache.miss memory/evaluation"], "events=%v", events)
		assert.Equal(t, int64(0), got["flipt flipt.cache.hit memory/evaluation"], "events=%v", events)
		if events {
			assert.Equal(t, int64(1), got["flipt flipt.cache.hit redis/segment"])
		}
	}
}

// Copies of one export handed over by several calls at once count once:
// each call classifies on its own, and the identities are looked up in the
// shared table under the lock, in the order the calls take it.
func TestConcurrentResendsCountOnce(t *testing.T) {
	h := newHarness(t, withPreset)
	bodies := loadCaptures(t)
	want := expectedFromTrees(bodies)
	const copies = 4
	var wg sync.WaitGroup
	for range copies {
		wg.Go(func() {
			for _, td := range bodies {
				assert.NoError(t, h.c.ConsumeTraces(context.Background(), td))
			}
		})
	}
	wg.Wait()
	assert.Equal(t, want, settle(t, h))
	metadatatest.AssertEqualCacheMetricsDedupDuplicates(t, h.tel,
		[]metricdata.DataPoint[int64]{{Value: (copies - 1) * 44}}, metricdatatest.IgnoreTimestamp())
}
