package cachemetrics

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// treeSpan is one span of a synthetic trace: id, parent id (0 = root),
// lookup by name or backend by attribute.
type treeSpan struct {
	id, parent      int
	lookup, backend bool
}

const lookupName = "flipt.evaluation.EvaluationService/Boolean"

// treeBatch puts the spans of one trace into one export, in the given order.
func treeBatch(trace byte, spans []treeSpan) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "flipt")
	ss := rs.ScopeSpans().AppendEmpty().Spans()
	ss.EnsureCapacity(len(spans))
	appendTree(ss, trace, spans)
	return td
}

func appendTree(ss ptrace.SpanSlice, trace byte, spans []treeSpan) {
	tid := pcommon.TraceID{trace, 0xee}
	for _, sp := range spans {
		s := ss.AppendEmpty()
		s.SetTraceID(tid)
		s.SetSpanID(spanID(sp.id))
		if sp.parent != 0 {
			s.SetParentSpanID(spanID(sp.parent))
		}
		s.SetName("step")
		if sp.lookup {
			s.SetName(lookupName)
		}
		if sp.backend {
			s.Attributes().PutStr("db.system.name", "sqlite")
		}
	}
}

// chainOf is ids 1..n, each the parent of the next: a lookup at the root,
// a backend span at the leaf if withBackend.
func chainOf(n int, withBackend bool) []treeSpan {
	out := make([]treeSpan, n)
	for i := range out {
		out[i] = treeSpan{id: i + 1, parent: i, lookup: i == 0, backend: withBackend && i == n-1}
	}
	return out
}

func reverse[T any](s []T) []T {
	out := make([]T, len(s))
	for i, v := range s {
		out[len(s)-1-i] = v
	}
	return out
}

func shuffle[T any](s []T, seed uint64) []T {
	out := append([]T(nil), s...)
	rand.New(rand.NewPCG(seed, 3)).Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// settleEval lets every wait run out and returns the counts of
// memory/evaluation.
func settleEval(t *testing.T, h *harness) (hits, misses int64) {
	t.Helper()
	got := settle(t, h)
	return got["flipt flipt.cache.hit memory/evaluation"], got["flipt flipt.cache.miss memory/evaluation"]
}

func TestInferenceDeepChainsAnyOrder(t *testing.T) {
	// 32,000 deep took the pass-until-stable inference 28 s, root first.
	const depth = 32_000
	for name, order := range map[string]func([]treeSpan) []treeSpan{
		"root_first": func(s []treeSpan) []treeSpan { return s },
		"leaf_first": reverse[treeSpan],
		"shuffled":   func(s []treeSpan) []treeSpan { return shuffle(s, 11) },
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, withPreset)
			// Trace 1 reaches the database at its leaf; trace 2 never does.
			td := treeBatch(1, order(chainOf(depth, true)))
			appendTree(td.ResourceSpans().At(0).ScopeSpans().At(0).Spans(), 2, order(chainOf(depth, false)))
			h.consume(t, td)
			hits, misses := settleEval(t, h)
			assert.Equal(t, int64(1), misses, "the backend span at depth %d makes the root a miss", depth)
			assert.Equal(t, int64(1), hits)
			assert.Zero(t, h.c.inf.size(), "every span was in the batch: nothing left for later batches")
		})
	}
}

func TestInferenceWideFanOut(t *testing.T) {
	const width = 20_000
	wide := func(backendAt int) []treeSpan {
		out := []treeSpan{{id: 1, lookup: true}}
		for i := range width {
			out = append(out, treeSpan{id: i + 2, parent: 1})
		}
		if backendAt > 0 {
			out = append(out, treeSpan{id: width + 2, parent: backendAt, backend: true})
		}
		return out
	}
	h := newHarness(t, withPreset)
	td := treeBatch(1, shuffle(wide(width/2), 5)) // a backend below one child of many
	appendTree(td.ResourceSpans().At(0).ScopeSpans().At(0).Spans(), 2, wide(0))
	h.consume(t, td)
	hits, misses := settleEval(t, h)
	assert.Equal(t, int64(1), misses)
	assert.Equal(t, int64(1), hits)
}

func TestInferenceMissingParentAcrossBatches(t *testing.T) {
	// lookup 1 → 2 → 3 → backend 4. Span 2 comes last, in a batch of its
	// own: the mark waits in the frontier at 2, and the parked lookup reads
	// it through 2's arrival.
	h := newHarness(t, withPreset)
	h.consume(t, treeBatch(1, []treeSpan{{id: 4, parent: 3, backend: true}, {id: 3, parent: 2}, {id: 1, lookup: true}}))
	h.clock.Advance(time.Second) // within inference.wait
	h.consume(t, treeBatch(1, []treeSpan{{id: 2, parent: 1}}))
	hits, misses := settleEval(t, h)
	assert.Equal(t, int64(1), misses)
	assert.Zero(t, hits)
}

func TestInferenceHostileParentsEnd(t *testing.T) {
	cases := map[string]struct {
		spans        []treeSpan
		hits, misses int64
	}{
		"self_parent_lookup": {spans: []treeSpan{
			{id: 1, parent: 1, lookup: true}, {id: 2, parent: 1, backend: true},
		}, misses: 1},
		"self_parent_no_backend": {spans: []treeSpan{{id: 1, parent: 1, lookup: true}}, hits: 1},
		"self_parent_backend": {spans: []treeSpan{
			{id: 1, lookup: true}, {id: 2, parent: 2, backend: true},
		}, hits: 1},
		"two_loop": {spans: []treeSpan{
			{id: 1, parent: 2, lookup: true}, {id: 2, parent: 1}, {id: 3, parent: 2, backend: true},
		}, misses: 1},
		"long_loop_no_backend": {spans: append(chainOf(10_000, false), treeSpan{id: 1, parent: 10_000, lookup: true})[1:], hits: 1},
		"long_loop":            {spans: append(chainOf(10_000, true), treeSpan{id: 1, parent: 10_000, lookup: true})[1:], misses: 1},
	}
	for name, tc := range cases {
		for order, spans := range map[string][]treeSpan{"given": tc.spans, "reversed": reverse(tc.spans)} {
			t.Run(name+"/"+order, func(t *testing.T) {
				h := newHarness(t, withPreset)
				h.consume(t, treeBatch(1, spans))
				hits, misses := settleEval(t, h)
				assert.Equal(t, tc.misses, misses)
				assert.Equal(t, tc.hits, hits)
			})
		}
	}
}

// reorder puts every span of a body into one scope in a new order, as a
// sender free to order OTLP as it likes could.
func reorder(td ptrace.Traces, perm func(n int) []int) ptrace.Traces {
	out := ptrace.NewTraces()
	for _, rs := range td.ResourceSpans().All() {
		var all []ptrace.Span
		for _, ss := range rs.ScopeSpans().All() {
			for _, s := range ss.Spans().All() {
				all = append(all, s)
			}
		}
		nrs := out.ResourceSpans().AppendEmpty()
		rs.Resource().CopyTo(nrs.Resource())
		spans := nrs.ScopeSpans().AppendEmpty().Spans()
		for _, i := range perm(len(all)) {
			all[i].CopyTo(spans.AppendEmpty())
		}
	}
	return out
}

func TestInferenceCapturesAnyOrder(t *testing.T) {
	bodies := loadCaptures(t)
	want := expectedFromTrees(bodies)
	orders := map[string]func(n int) []int{
		"reversed": func(n int) []int {
			p := make([]int, n)
			for i := range p {
				p[i] = n - 1 - i
			}
			return p
		},
	}
	for seed := range uint64(3) {
		orders["shuffled_"+string(rune('a'+seed))] = func(n int) []int { return rand.New(rand.NewPCG(seed, 9)).Perm(n) }
	}
	for name, perm := range orders {
		t.Run(name, func(t *testing.T) {
			var moved []ptrace.Traces
			for _, td := range bodies {
				moved = append(moved, reorder(td, perm))
			}
			h := newHarness(t, withPreset)
			require.Equal(t, want, feedAndSettle(t, h, moved))
		})
	}
}

// The per-span work of a call (attribute scan, rules, the batch's marks)
// needs no lock: here it runs to the end while the test holds the lock that
// every other call and the flusher wait for. (TestConcurrentConsumeAndFlush
// runs calls and flushes together under -race: scans share no state.)
func TestScanNeedsNoLock(t *testing.T) {
	h := newHarness(t, withPreset)
	td := treeBatch(1, chainOf(32_000, true))
	h.c.mu.Lock()
	done := make(chan *batch, 1)
	go func() {
		b := h.c.getBatch()
		h.c.scan(b, td)
		done <- b
	}()
	var b *batch
	require.Eventually(t, func() bool {
		select {
		case b = <-done:
			return true
		default:
			return false
		}
	}, 30*time.Second, time.Millisecond, "classification waited for the lock")
	h.c.mu.Unlock()

	h.c.mu.Lock()
	h.c.apply(b)
	h.c.mu.Unlock()
	h.c.putBatch(b)
	hits, misses := settleEval(t, h)
	assert.Equal(t, int64(1), misses)
	assert.Zero(t, hits)
}
