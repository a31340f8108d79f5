package marks

import "math/rand/v2"

// index maps a key to its place in the ring: open addressing with linear
// probing, at most half full, and backward-shift deletion, so no tombstones
// pile up however fast entries come and go. Keys are mixed with a random
// seed, so span IDs chosen to share their low bits cannot make probe runs
// long.
type index struct {
	slots []slot
	mask  uint64
	seed  uint64
}

// slot is empty when place is 0; otherwise the entry is at place-1.
type slot struct {
	key   uint64
	place int32
}

const minSlots = 16

func newIndex() index { return index{seed: rand.Uint64()} }

// home is where key's probe run starts (murmur3's finalizer over the
// seeded key).
func (x *index) home(key uint64) uint64 {
	h := key ^ x.seed
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h & x.mask
}

// rebuild empties the index and sizes it for at most n entries.
func (x *index) rebuild(n int) {
	size := minSlots
	for size < 2*n {
		size *= 2
	}
	x.slots, x.mask = make([]slot, size), uint64(size-1)
}

// find returns the place of key in the ring.
func (x *index) find(key uint64) (int32, bool) {
	if len(x.slots) == 0 {
		return 0, false
	}
	for i := x.home(key); ; i = (i + 1) & x.mask {
		s := &x.slots[i]
		if s.place == 0 {
			return 0, false
		}
		if s.key == key {
			return s.place - 1, true
		}
	}
}

// put enters key, which must be absent, at place; the index must have room.
func (x *index) put(key uint64, place int32) {
	i := x.home(key)
	for x.slots[i].place != 0 {
		i = (i + 1) & x.mask
	}
	x.slots[i] = slot{key: key, place: place + 1}
}

// remove deletes key and moves back the entries of
// its run that would no longer be found past the hole.
func (x *index) remove(key uint64) {
	i := x.home(key)
	for x.slots[i].key != key {
		if x.slots[i].place == 0 {
			return // absent
		}
		i = (i + 1) & x.mask
	}
	for j := (i + 1) & x.mask; x.slots[j].place != 0; j = (j + 1) & x.mask {
		// The entry at j stays if its home lies cyclically in (i, j].
		if h := x.home(x.slots[j].key); (j-h)&x.mask < (j-i)&x.mask {
			continue
		}
		x.slots[i] = x.slots[j]
		i = j
	}
	x.slots[i] = slot{}
}
