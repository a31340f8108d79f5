package cachemetrics

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

func TestAttributeRulesSpansAndEvents(t *testing.T) {
	h := newHarness(t, nil)
	h.consume(t, traces(
		// bool outcomes, labels from the default attributes
		spanSpec{name: "get", id: 1, attrs: map[string]any{"cache.hit": true, "cache.backend": "memory", "cache.type": "flag"}},
		spanSpec{name: "get", id: 2, attrs: map[string]any{"cache.hit": false, "cache.backend": "memory", "cache.type": "flag"}},
		// Flipt-style names and string outcomes, case-insensitive
		spanSpec{name: "get", id: 3, attrs: map[string]any{"flipt.cache.hit": "HIT", "flipt.cache": "redis", "flipt.cache.type": "segment"}},
		spanSpec{name: "get", id: 4, attrs: map[string]any{"flipt.cache.hit": "miss", "flipt.cache": "redis", "flipt.cache.type": "segment"}},
		// errors: error attribute, error status
		spanSpec{name: "get", id: 5, attrs: map[string]any{"cache.hit": false, "cache.error": true, "cache.backend": "memory", "cache.type": "flag"}},
		spanSpec{name: "get", id: 6, attrs: map[string]any{"cache.hit": false, "error.type": "timeout", "cache.backend": "memory", "cache.type": "flag"}},
		spanSpec{name: "get", id: 7, statusErr: true, attrs: map[string]any{"cache.hit": true, "cache.backend": "memory", "cache.type": "flag"}},
		// not errors
		spanSpec{name: "get", id: 8, attrs: map[string]any{"cache.hit": true, "cache.error": false, "cache.backend": "memory", "cache.type": "flag"}},
		// defaults when labels are missing; non-string label values formatted
		spanSpec{name: "get", id: 9, attrs: map[string]any{"cache.hit": true}},
		spanSpec{name: "get", id: 10, attrs: map[string]any{"cache.hit": true, "cache.backend": int64(2), "cache.type": "flag"}},
		// not lookups: no attribute, unknown value, wrong type
		spanSpec{name: "get", id: 11, attrs: map[string]any{"db.system.name": "sqlite"}},
		spanSpec{name: "get", id: 12, attrs: map[string]any{"cache.hit": "maybe"}},
		spanSpec{name: "get", id: 13, attrs: map[string]any{"cache.hit": int64(1)}},
		// span events: two lookups on one span that is not a lookup itself
		spanSpec{name: "handler", id: 14, statusErr: true, events: []map[string]any{
			{"cache.hit": true, "cache.backend": "memory", "cache.type": "rules"},
			{"cache.hit": false, "cache.backend": "memory", "cache.type": "rules"},
			{"other": "event"},
		}},
		// an event's error comes from its own attributes, not its span's
		spanSpec{name: "handler", id: 15, attrs: map[string]any{"cache.error": true}, events: []map[string]any{
			{"cache.hit": true, "cache.backend": "memory", "cache.type": "rules"},
			{"cache.hit": true, "error.type": "timeout", "cache.backend": "memory", "cache.type": "rules"},
		}},
	))
	require.Empty(t, h.flush(t)["flipt flipt.cache.hit memory/flag"], "first export is at zero")
	h.clock.Advance(15 * time.Second)
	got := h.flush(t)
	want := map[string]int64{
		"flipt flipt.cache.hit memory/flag":       2,
		"flipt flipt.cache.miss memory/flag":      1,
		"flipt flipt.cache.error memory/flag":     3,
		"flipt flipt.cache.hit redis/segment":     1,
		"flipt flipt.cache.miss redis/segment":    1,
		"flipt flipt.cache.error redis/segment":   0,
		"flipt flipt.cache.hit unknown/unknown":   1,
		"flipt flipt.cache.miss unknown/unknown":  0,
		"flipt flipt.cache.error unknown/unknown": 0,
		"flipt flipt.cache.hit 2/flag":            1,
		"flipt flipt.cache.miss 2/flag":           0,
		"flipt flipt.cache.error 2/flag":          0,
		// event lookups ignore the span status: it is not theirs
		"flipt flipt.cache.hit memory/rules":   2,
		"flipt flipt.cache.miss memory/rules":  1,
		"flipt flipt.cache.error memory/rules": 1,
	}
	assert.Equal(t, want, got)
}

func TestAttributeRulesOptions(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.AttributeRules.SpanEvents = false
		c.AttributeRules.ErrorOnStatus = false
		c.AttributeRules.HitAttributes = []string{"x.hit"}
	})
	h.consume(t, traces(
		spanSpec{name: "a", id: 1, statusErr: true, attrs: map[string]any{"x.hit": true}},
		spanSpec{name: "b", id: 2, attrs: map[string]any{"cache.hit": true}},
		spanSpec{name: "c", id: 3, events: []map[string]any{{"x.hit": true}}},
	))
	h.flush(t)
	h.clock.Advance(time.Second)
	assert.Equal(t, map[string]int64{
		"flipt flipt.cache.hit unknown/unknown":   1,
		"flipt flipt.cache.miss unknown/unknown":  0,
		"flipt flipt.cache.error unknown/unknown": 0,
	}, h.flush(t))
}

// The per-span path of attribute rules must not allocate once its series exist.
func TestAttributeRulesNoAllocsSteadyState(t *testing.T) {
	h := newHarness(t, nil)
	td := traces(
		spanSpec{name: "get", id: 1, attrs: map[string]any{"cache.hit": true, "cache.backend": "memory", "cache.type": "flag"}},
		spanSpec{name: "get", id: 2, attrs: map[string]any{"cache.hit": "miss", "cache.backend": "memory", "cache.type": "flag"}},
		spanSpec{name: "sql", id: 3, attrs: map[string]any{"db.system.name": "sqlite"}},
		spanSpec{name: "h", id: 4, events: []map[string]any{{"cache.hit": true, "cache.backend": "memory", "cache.type": "rules"}}},
	)
	h.consume(t, td)
	span := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	b := newBatch(len(h.c.idx.keys))
	allocs := testing.AllocsPerRun(200, func() {
		for i := range span.Len() {
			h.c.examine(b, span.At(i), h.c.idx.scan(span.At(i).Attributes(), b.vals), 0)
		}
		b.lookups, b.sightings = b.lookups[:0], b.sightings[:0]
	})
	assert.Zero(t, allocs)
}

// The whole call, telemetry included, does not allocate once series exist.
func TestConsumeTracesNoAllocsSteadyState(t *testing.T) {
	h := newHarness(t, nil)
	td := traces(
		spanSpec{name: "get", id: 1, attrs: map[string]any{"cache.hit": true, "cache.backend": "memory", "cache.type": "flag"}},
		spanSpec{name: "sql", id: 3, attrs: map[string]any{"db.system.name": "sqlite"}},
	)
	h.consume(t, td)
	allocs := testing.AllocsPerRun(100, func() { h.consume(t, td) })
	assert.Zero(t, allocs)
}

// A kept scratch must not hold the caller's pdata (label strings, values)
// once the call is over.
func TestBatchScratchDropsReferences(t *testing.T) {
	h := newHarness(t, withPreset)
	td := traces(
		spanSpec{name: "get", id: 1, attrs: map[string]any{"cache.hit": true, "cache.backend": "memory", "cache.type": "flag"},
			events: []map[string]any{{"cache.hit": false, "cache.backend": "memory", "cache.type": "rules"}}},
		spanSpec{name: "plain", id: 2, parent: 1},
	)
	b := h.c.getBatch()
	h.c.scan(b, td)
	h.c.mu.Lock()
	h.c.apply(b)
	h.c.mu.Unlock()
	require.True(t, b.reset())
	for _, l := range b.scratch[:cap(b.scratch)] {
		assert.Equal(t, lookup{}, l)
	}
	for _, v := range append(b.vals, b.evVals...) {
		assert.Equal(t, pcommon.Value{}, v)
	}
	for _, r := range b.res[:cap(b.res)] {
		assert.Equal(t, resRef{}, r)
	}
	for _, l := range b.lookups[:cap(b.lookups)] {
		assert.Equal(t, batchLookup{}, l)
	}
}
