package ancestry

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// span is one span of a test batch: key, parent (0 = none), and whether a
// mark is set on it (as a backend span marks its parent).
type span struct {
	key, parent uint64
	mark        bool
}

// expected walks up from every mark the slow, obvious way, with a visited
// set so loops end; it shares no code with Graph.
func expected(spans []span) map[uint64]bool {
	parents := map[uint64][]uint64{}
	for _, s := range spans {
		if s.parent != 0 {
			parents[s.key] = append(parents[s.key], s.parent)
		}
	}
	marked := map[uint64]bool{}
	var walk func(k uint64)
	walk = func(k uint64) {
		if marked[k] {
			return
		}
		marked[k] = true
		for _, p := range parents[k] {
			walk(p)
		}
	}
	for _, s := range spans {
		if s.mark {
			walk(s.key)
		}
	}
	return marked
}

// feed adds the spans in order, each mark right after its span, and checks
// the result against expected, the bound on work, and presence.
func feed(t *testing.T, g *Graph, spans []span) {
	t.Helper()
	for _, s := range spans {
		g.Span(s.key, s.parent, s.parent != 0)
		if s.mark {
			g.Mark(s.key)
		}
	}
	check(t, g, spans)
}

func check(t *testing.T, g *Graph, spans []span) {
	t.Helper()
	want := expected(spans)
	present := map[uint64]bool{}
	for _, s := range spans {
		present[s.key] = true
	}
	got := map[uint64]bool{}
	for n := range Node(g.Len()) {
		if g.Marked(n) {
			got[g.Key(n)] = true
		}
		assert.Equal(t, present[g.Key(n)], g.Present(n), "presence of %d", g.Key(n))
	}
	require.Equal(t, len(want), len(got))
	assert.Equal(t, want, got)
	assert.LessOrEqual(t, g.steps, len(g.links), "each parent link followed at most once")
}

// chain is keys 1..n, k the parent of k+1, marked at the leaf.
func chain(n int) []span {
	out := make([]span, n)
	for i := range out {
		k := uint64(i + 1)
		out[i] = span{key: k, parent: k - 1, mark: i == n-1}
	}
	return out
}

func reversed(s []span) []span {
	out := make([]span, len(s))
	for i, v := range s {
		out[len(s)-1-i] = v
	}
	return out
}

func shuffled(s []span, seed uint64) []span {
	out := append([]span(nil), s...)
	r := rand.New(rand.NewPCG(seed, 1))
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

func TestDeepChainAnyOrder(t *testing.T) {
	const depth = 100_000 // quadratic work would not finish in a test run
	c := chain(depth)
	for name, order := range map[string][]span{
		"root_first": c,
		"leaf_first": reversed(c),
		"shuffled":   shuffled(c, 7),
	} {
		t.Run(name, func(t *testing.T) {
			var g Graph
			feed(t, &g, order)
			for n := range Node(g.Len()) {
				require.True(t, g.Marked(n), "every span of the chain is above the mark")
			}
		})
	}
}

func TestMarksBeforeSpans(t *testing.T) {
	// A backend span may come first: its parent is marked before it is seen.
	var g Graph
	g.Mark(5)
	for k := uint64(5); k >= 1; k-- {
		g.Span(k, k-1, k > 1)
	}
	g.Span(9, 8, true) // another trace, unmarked
	for n := range Node(g.Len()) {
		assert.Equal(t, g.Key(n) <= 5, g.Marked(n), "key %d", g.Key(n))
	}
	assert.LessOrEqual(t, g.steps, len(g.links))
}

func TestWideFanOut(t *testing.T) {
	const width = 50_000
	spans := []span{{key: 1}}
	for i := range width {
		spans = append(spans, span{key: uint64(i + 2), parent: 1, mark: i%100 == 0})
	}
	var g Graph
	feed(t, &g, spans)
	var g2 Graph
	feed(t, &g2, reversed(spans))
}

func TestMissingParents(t *testing.T) {
	// 3's parent 2 is not in the batch; the mark reaches 2 and stops, and 2
	// is a node that is referenced but not present (a frontier mark).
	spans := []span{{key: 3, parent: 2}, {key: 4, parent: 3, mark: true}, {key: 10, parent: 11}}
	var g Graph
	feed(t, &g, spans)
	marked := map[uint64]bool{}
	for n := range Node(g.Len()) {
		if g.Marked(n) && !g.Present(n) {
			marked[g.Key(n)] = true
		}
	}
	assert.Equal(t, map[uint64]bool{2: true}, marked)
}

func TestSelfParentAndLoopsEnd(t *testing.T) {
	cases := map[string][]span{
		"self":       {{key: 1, parent: 1, mark: true}},
		"self_later": {{key: 2, parent: 1, mark: true}, {key: 1, parent: 1}},
		"two_loop":   {{key: 1, parent: 2}, {key: 2, parent: 1}, {key: 3, parent: 1, mark: true}},
		"long_loop":  append(chain(1_000), span{key: 1, parent: 1_000}),
		"loop_marked_first": {
			{key: 7, mark: true}, {key: 7, parent: 8}, {key: 8, parent: 9}, {key: 9, parent: 7},
		},
	}
	for name, spans := range cases {
		t.Run(name, func(t *testing.T) {
			var g Graph
			feed(t, &g, spans)
			var g2 Graph
			feed(t, &g2, reversed(spans))
		})
	}
}

func TestSpanSentTwice(t *testing.T) {
	// The same span twice adds one link; with another parent (hostile input),
	// both parents are its ancestors.
	var g Graph
	feed(t, &g, []span{{key: 2, parent: 1}, {key: 2, parent: 1}, {key: 3, parent: 2, mark: true}})
	assert.Len(t, g.links, 2)
	var h Graph
	feed(t, &h, []span{{key: 2, parent: 1}, {key: 2, parent: 5}, {key: 3, parent: 2, mark: true}})
}

func TestShuffledForests(t *testing.T) {
	// Many random trees, loops and dangling parents, in random order.
	for seed := range uint64(20) {
		r := rand.New(rand.NewPCG(seed, 2))
		var spans []span
		for k := uint64(1); k <= 2_000; k++ {
			s := span{key: k, mark: r.IntN(50) == 0}
			switch r.IntN(10) {
			case 0: // root
			case 1: // parent maybe missing, maybe a loop back down
				s.parent = r.Uint64N(3_000) + 1
			default:
				s.parent = r.Uint64N(k) + 1 // an earlier span, or itself
			}
			spans = append(spans, s)
		}
		var g Graph
		feed(t, &g, shuffled(spans, seed))
	}
}

func TestResetReuses(t *testing.T) {
	var g Graph
	feed(t, &g, chain(100))
	g.Reset()
	assert.Zero(t, g.Len())
	g.steps = 0
	feed(t, &g, []span{{key: 1}, {key: 2, parent: 1}})
	for n := range Node(g.Len()) {
		assert.False(t, g.Marked(n), "marks do not survive Reset")
	}
}
