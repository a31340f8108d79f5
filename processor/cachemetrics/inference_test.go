package cachemetrics

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// expectedFromTrees counts the captures' lookups the slow, obvious way:
// one parent map over all bodies, then for every backend span walk up and
// remember its ancestors. It shares no code with the connector.
func expectedFromTrees(bodies []ptrace.Traces) map[string]int64 {
	type id = [24]byte
	key := func(t pcommon.TraceID, s pcommon.SpanID) (k id) {
		copy(k[:16], t[:])
		copy(k[16:], s[:])
		return k
	}
	parent := map[id]id{}
	var backends []id
	type lk struct {
		k   id
		typ string
	}
	var lookups []lk
	for _, td := range bodies {
		for _, rs := range td.ResourceSpans().All() {
			for _, ss := range rs.ScopeSpans().All() {
				for _, s := range ss.Spans().All() {
					k := key(s.TraceID(), s.SpanID())
					if !s.ParentSpanID().IsEmpty() {
						parent[k] = key(s.TraceID(), s.ParentSpanID())
					}
					_, a := s.Attributes().Get("db.system.name")
					_, b := s.Attributes().Get("db.system")
					if a || b {
						backends = append(backends, k)
					}
					n := s.Name()
					switch {
					case strings.HasPrefix(n, "flipt.evaluation.EvaluationService/"), strings.HasPrefix(n, "flipt.ofrep.OFREPService/"):
						lookups = append(lookups, lk{k, "evaluation"})
					case n == "flipt.Flipt/GetFlag":
						lookups = append(lookups, lk{k, "flag"})
					}
				}
			}
		}
	}
	hasBackendBelow := map[id]bool{}
	for _, b := range backends {
		for p, ok := parent[b]; ok; p, ok = parent[p] {
			hasBackendBelow[p] = true
		}
	}
	want := map[string]int64{}
	for _, l := range lookups {
		for _, m := range []string{"hit", "miss", "error"} {
			want["flipt flipt.cache."+m+" memory/"+l.typ] += 0
		}
		if hasBackendBelow[l.k] {
			want["flipt flipt.cache.miss memory/"+l.typ]++
		} else {
			want["flipt flipt.cache.hit memory/"+l.typ]++
		}
	}
	return want
}

func withPreset(c *Config) { c.Preset = PresetFlipt }

// feedAndSettle feeds batches a second apart, then lets every wait expire.
func feedAndSettle(t *testing.T, h *harness, batches []ptrace.Traces) map[string]int64 {
	t.Helper()
	for _, td := range batches {
		h.consume(t, td)
		h.clock.Advance(time.Second)
	}
	h.clock.Advance(time.Minute)
	h.flush(t) // first sight: zeros
	h.clock.Advance(15 * time.Second)
	return h.flush(t)
}

func TestInferenceOnRealFliptTraces(t *testing.T) {
	bodies := loadCaptures(t)
	want := expectedFromTrees(bodies)
	// What the captures hold, as a guard on both algorithms.
	require.Equal(t, int64(35), want["flipt flipt.cache.hit memory/evaluation"])
	require.Equal(t, int64(7), want["flipt flipt.cache.miss memory/evaluation"])
	require.Equal(t, int64(2), want["flipt flipt.cache.hit memory/flag"])

	h := newHarness(t, withPreset)
	assert.Equal(t, want, feedAndSettle(t, h, bodies))
}

// splitByScope cuts every body where OTLP groups spans, as an upstream
// processor might: the sql spans then reach the connector in a later call
// than the evaluation span that is their parent.
func splitByScope(bodies []ptrace.Traces) []ptrace.Traces {
	var out []ptrace.Traces
	for _, td := range bodies {
		for _, rs := range td.ResourceSpans().All() {
			for _, ss := range rs.ScopeSpans().All() {
				part := ptrace.NewTraces()
				nrs := part.ResourceSpans().AppendEmpty()
				rs.Resource().CopyTo(nrs.Resource())
				ss.CopyTo(nrs.ScopeSpans().AppendEmpty())
				out = append(out, part)
			}
		}
	}
	return out
}

func TestInferenceSurvivesSplitBatches(t *testing.T) {
	bodies := loadCaptures(t)
	want := expectedFromTrees(bodies)
	parts := splitByScope(bodies)

	// Consumed back to back (no clock movement), within the wait.
	h := newHarness(t, withPreset)
	for _, p := range parts {
		h.consume(t, p)
	}
	h.clock.Advance(time.Minute)
	h.flush(t)
	h.clock.Advance(15 * time.Second)
	assert.Equal(t, want, h.flush(t))

	// Without the wait, the out-of-order sql spans arrive too late.
	h0 := newHarness(t, func(c *Config) { withPreset(c); c.Inference.Wait = 0 })
	for _, p := range parts {
		h0.consume(t, p)
	}
	h0.flush(t)
	h0.clock.Advance(15 * time.Second)
	got := h0.flush(t)
	assert.Less(t, got["flipt flipt.cache.miss memory/evaluation"], want["flipt flipt.cache.miss memory/evaluation"])
}

func TestInferenceAcrossBatches(t *testing.T) {
	h := newHarness(t, withPreset)
	const eval = "flipt.evaluation.EvaluationService/Variant"
	sql := map[string]any{"db.system.name": "sqlite"}
	// Trace 1: sql span, then its parent P, then P's parent (the lookup),
	// each in its own earlier batch: a miss found through the marks.
	h.consume(t, traces(spanSpec{name: "sql.rows", trace: 1, id: 3, parent: 2, attrs: sql}))
	h.consume(t, traces(spanSpec{name: "inner", trace: 1, id: 2, parent: 1}))
	h.consume(t, traces(spanSpec{name: eval, trace: 1, id: 1}))
	// Trace 2: the lookup first, its sql child a moment later (split
	// upstream): still a miss, because the lookup was held.
	h.consume(t, traces(spanSpec{name: eval, trace: 2, id: 1}))
	h.clock.Advance(time.Second)
	h.consume(t, traces(spanSpec{name: "sql.rows", trace: 2, id: 2, parent: 1, attrs: sql}))
	// Trace 3: a lookup alone; a backend span after the wait changes nothing.
	h.consume(t, traces(spanSpec{name: eval, trace: 3, id: 1}))
	h.clock.Advance(3 * time.Second)
	h.consume(t, traces(spanSpec{name: "noise", trace: 9, id: 1}))
	h.consume(t, traces(spanSpec{name: "sql.rows", trace: 3, id: 2, parent: 1, attrs: sql}))
	// Trace 4: a lookup span that also carries cache.hit is counted once,
	// by the attribute rule.
	h.consume(t, traces(
		spanSpec{name: "sql.rows", trace: 4, id: 2, parent: 1, attrs: sql},
		spanSpec{name: eval, trace: 4, id: 1, attrs: map[string]any{"cache.hit": true, "cache.backend": "memory", "cache.type": "evaluation"}},
	))
	h.flush(t)
	h.clock.Advance(15 * time.Second)
	assert.Equal(t, map[string]int64{
		"flipt flipt.cache.hit memory/evaluation":   2,
		"flipt flipt.cache.miss memory/evaluation":  2,
		"flipt flipt.cache.error memory/evaluation": 0,
	}, h.flush(t))
}

func TestInferenceBackendValuesAndEvictions(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.Inference.Rules = []InferenceRule{{SpanNames: []string{"lookup"}, Cache: "c", Type: "t"}}
		c.Inference.Backend.AnyOf = []AttributeCondition{{Key: "db.system.name", Values: []string{"postgresql"}}}
		c.Inference.MaxEntries = 2
	})
	h.consume(t, traces(
		spanSpec{name: "q", trace: 1, id: 2, parent: 1, attrs: map[string]any{"db.system.name": "sqlite"}},
		spanSpec{name: "q", trace: 2, id: 2, parent: 1, attrs: map[string]any{"db.system.name": "postgresql"}},
	))
	// Three marks into a table of two: the oldest (trace 2) is evicted.
	h.consume(t, traces(
		spanSpec{name: "q", trace: 3, id: 2, parent: 1, attrs: map[string]any{"db.system.name": "postgresql"}},
		spanSpec{name: "q", trace: 4, id: 2, parent: 1, attrs: map[string]any{"db.system.name": "postgresql"}},
	))
	h.consume(t, traces(
		spanSpec{name: "lookup", trace: 1, id: 1},
		spanSpec{name: "lookup", trace: 2, id: 1},
		spanSpec{name: "lookup", trace: 4, id: 1},
	))
	h.clock.Advance(time.Minute)
	h.flush(t)
	h.clock.Advance(time.Second)
	assert.Equal(t, map[string]int64{
		"flipt flipt.cache.hit c/t":   2, // sqlite is no backend here; trace 2's mark was evicted
		"flipt flipt.cache.miss c/t":  1,
		"flipt flipt.cache.error c/t": 0,
	}, h.flush(t))
	assert.Equal(t, uint64(1), h.c.inf.evictions())
}
