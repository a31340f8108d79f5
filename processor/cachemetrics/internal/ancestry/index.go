package ancestry

import "math/rand/v2"

// index maps span keys to nodes: open addressing with linear probing, at
// most half full. Keys are mixed with a random seed, new for each batch, so
// crafted span IDs cannot make probe runs long; the mix is murmur3's
// finalizer, a few multiplies where a generic hash call cost more than the
// probe. A slot counts only if it
// carries the current generation, so reset costs nothing however large the
// table grew for an earlier batch.
type index struct {
	slots []slot
	mask  uint64
	gen   uint32
	used  int
	seed  uint64
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
	if (x.used+1)*2 > len(x.slots) {
		x.grow()
	}
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
	h := key ^ x.seed
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h & x.mask
}

// grow doubles the table and puts back the current entries.
func (x *index) grow() {
	old, gen := x.slots, x.gen
	if x.seed == 0 { // a graph never reset yet
		x.seed = rand.Uint64()
	}
	n := max(minSlots, 2*len(old))
	x.slots, x.mask, x.gen = make([]slot, n), uint64(n-1), 1
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
	x.seed = rand.Uint64()
	x.gen++
	if x.gen == 0 { // wrapped: old slots could pass for current ones
		clear(x.slots)
		x.gen = 1
	}
}
