package ancestry

import "hash/maphash"

// index maps span keys to nodes: open addressing with linear probing, at
// most half full. Keys are hashed with a random seed, as Go's own maps are,
// so crafted span IDs cannot make probe runs long. A slot counts only if it
// carries the current generation, so reset costs nothing however large the
// table grew for an earlier batch.
type index struct {
	slots []slot
	mask  uint64
	gen   uint32
	used  int
	seed  maphash.Seed
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
	i := maphash.Comparable(x.seed, key) & x.mask
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

// grow doubles the table and puts back the current entries.
func (x *index) grow() {
	old, gen := x.slots, x.gen
	n := max(minSlots, 2*len(old))
	x.slots, x.mask, x.gen = make([]slot, n), uint64(n-1), 1
	for _, s := range old {
		if s.gen != gen {
			continue
		}
		i := maphash.Comparable(x.seed, s.key) & x.mask
		for x.slots[i].gen == x.gen {
			i = (i + 1) & x.mask
		}
		x.slots[i] = slot{key: s.key, node: s.node, gen: x.gen}
	}
}

// reset empties the index: a new generation, and a new seed.
func (x *index) reset() {
	x.used = 0
	x.seed = maphash.MakeSeed()
	x.gen++
	if x.gen == 0 { // wrapped: old slots could pass for current ones
		clear(x.slots)
		x.gen = 1
	}
}
