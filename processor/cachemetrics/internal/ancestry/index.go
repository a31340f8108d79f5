package ancestry

import (
	"math/bits"
	"math/rand/v2"
)

// index maps span keys to nodes: open addressing with linear probing, at
// most half full. A key's home is the high bits of the key times a random
// odd multiplier, new for each batch (multiply-shift hashing: any two keys
// share a home with chance at most 2/len(slots) over the multiplier), so
// crafted span IDs cannot make probe runs long; one multiply, where a
// seeded finalizer took two and a generic hash call more. A slot counts
// only if it
// carries the current generation, so reset costs nothing however large the
// table grew for an earlier batch.
type index struct {
	slots []slot
	mask  uint64
	shift uint8 // 64 - log2(len(slots))
	gen   uint32
	used  int
	seed  uint64 // odd
}

type slot struct {
	key  uint64
	node Node
	gen  uint32
}

const minSlots = 64

// getOrPut returns the node of key, or enters key as next and reports
// false; the caller then makes node next.
func (x *index) getOrPut(key uint64, next Node) (Node, bool) {
	x.makeRoom()
	return x.probe(key, next)
}

// makeRoom grows the table if one more key would fill it past half.
func (x *index) makeRoom() {
	if (x.used+1)*2 > len(x.slots) {
		x.grow()
	}
}

// probe is getOrPut once there is room. It and makeRoom are short enough
// to inline, so Graph.node probes in its own frame: one call fewer for
// every span and mark.
func (x *index) probe(key uint64, next Node) (Node, bool) {
	i := x.home(key)
	for {
		s := &x.slots[i]
		if s.gen != x.gen {
			*s = slot{key: key, node: next, gen: x.gen}
			x.used++
			return next, false
		}
		if s.key == key {
			return s.node, true
		}
		i = (i + 1) & x.mask
	}
}

// home is where key's probe run starts.
func (x *index) home(key uint64) uint64 {
	return key * x.seed >> (x.shift & 63) // shift < 64: no test for a wider one
}

// grow doubles the table and puts back the current entries.
func (x *index) grow() {
	old, gen := x.slots, x.gen
	if x.seed == 0 { // a graph never reset yet
		x.seed = rand.Uint64() | 1
	}
	n := max(minSlots, 2*len(old))
	x.slots, x.mask, x.gen = make([]slot, n), uint64(n-1), 1
	x.shift = uint8(64 - bits.TrailingZeros(uint(n)))
	for _, s := range old {
		if s.gen != gen {
			continue
		}
		i := x.home(s.key)
		for x.slots[i].gen == x.gen {
			i = (i + 1) & x.mask
		}
		x.slots[i] = slot{key: s.key, node: s.node, gen: x.gen}
	}
}

// reset empties the index: a new generation, and a new seed.
func (x *index) reset() {
	x.used = 0
	x.seed = rand.Uint64() | 1
	x.gen++
	if x.gen == 0 { // wrapped: old slots could pass for current ones
		clear(x.slots)
		x.gen = 1
	}
}
