// Package ancestry marks, within one batch of spans, every span that has a
// marked descendant. Spans and marks may come in any order and any shape,
// including parents that are missing, a span that is its own parent, and
// loops. Each span is marked at most once and each parent link is followed
// at most once, so a batch costs time linear in its spans.
package ancestry // import "github.com/otelcol-flipt/otelcol-flipt/processor/cachemetrics/internal/ancestry"

// Node names a span of the graph: one present in the batch, or one only
// marked (a parent not in the batch, or a span still to come).
type Node = int32

const none Node = -1

// Graph holds the parent links of one batch. Not safe for concurrent use;
// Reset keeps its memory for the next batch.
type Graph struct {
	index index
	nodes []node
	links []link
	stack []Node
	// steps counts parent links followed while marking, over the graph's
	// life: the tests' measure of work, which must stay within len(links).
	steps int
}

type node struct {
	key     uint64
	link    int32 // first of the span's parent links, or none
	present bool  // the span itself is in the batch
	marked  bool  // the span has a marked descendant, or was marked
}

// link is one parent of a span, by key: it is looked up only when a mark
// goes through, so an unmarked span costs one map insert. A span re-sent
// with another parent has two links.
type link struct {
	parent uint64
	next   int32
}

// Span adds a span of the batch with its parent, if it has one. If the span
// is already marked, the mark goes on up through the new parent at once, so
// the order of Span and Mark calls does not matter.
func (g *Graph) Span(key, parent uint64, hasParent bool) Node {
	n := g.node(key)
	nd := &g.nodes[n] // valid until the next node is added
	nd.present = true
	if !hasParent {
		return n
	}
	if l := nd.link; l != none && g.links[l].parent == parent {
		return n // the same span again
	}
	g.links = append(g.links, link{parent: parent, next: nd.link})
	nd.link = int32(len(g.links) - 1)
	if nd.marked {
		g.steps++
		g.MarkNode(g.node(parent))
	}
	return n
}

// Mark marks the span with this key and its ancestors; the span need not be
// in the batch (yet).
func (g *Graph) Mark(key uint64) { g.MarkNode(g.node(key)) }

// MarkNode marks n and every ancestor not marked yet. An ancestor already
// marked has had its own ancestors marked, so the walk stops there; that is
// what bounds the work, and what ends a loop.
func (g *Graph) MarkNode(n Node) {
	nd := &g.nodes[n]
	if nd.marked {
		return
	}
	nd.marked = true
	if nd.link == none {
		// No parent known yet (the usual mark: a backend span's parent,
		// which ends after it): no walk.
		return
	}
	stack := append(g.stack[:0], n)
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for l := g.nodes[n].link; l != none; l = g.links[l].next {
			g.steps++
			if p := g.node(g.links[l].parent); !g.nodes[p].marked {
				g.nodes[p].marked = true
				stack = append(stack, p)
			}
		}
	}
	g.stack = stack[:0]
}

func (g *Graph) node(key uint64) Node {
	g.index.makeRoom()
	n, found := g.index.probe(key, Node(len(g.nodes)))
	if !found {
		g.nodes = append(g.nodes, node{key: key, link: none})
	}
	return n
}

// Len is the number of nodes, numbered from 0 in order of creation.
func (g *Graph) Len() int { return len(g.nodes) }

// Key is the key n was made for.
func (g *Graph) Key(n Node) uint64 { return g.nodes[n].key }

// Present reports whether n was added by Span, not only marked.
func (g *Graph) Present(n Node) bool { return g.nodes[n].present }

// Marked reports whether n was marked or has a marked descendant.
func (g *Graph) Marked(n Node) bool { return g.nodes[n].marked }

// Reset empties the graph for the next batch.
func (g *Graph) Reset() {
	g.index.reset()
	g.nodes, g.links = g.nodes[:0], g.links[:0]
}
