package marks

import "math/rand/v2"

// index maps a key to its place in the ring: open addressing with linear
// probing, at most half full, and backward-shift deletion, so no tombstones
// pile up however fast entries come and go. Keys are mixed with a random
// seed, so span IDs chosen to share their low bits cannot make probe runs
// long.
//
// A slot is 8 bytes: the high 32 bits of the mixed key (its tag, whose low
// bits are also its home) and the place plus one; 0 is empty. Half the
// bytes of a key-and-place slot, so more of the table stays in cache; a tag
// match is confirmed against the key in the ring, and moving an entry back
// needs only its tag, not its key.
type index struct {
	slots []uint64
	mask  uint64
	seed  uint64
}

const minSlots = 16

func newIndex() index { return index{seed: rand.Uint64()} }

// tag mixes key (murmur3's finalizer over the seeded key) and keeps the
// high half.
func (x *index) tag(key uint64) uint32 {
	h := key ^ x.seed
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return uint32(h >> 32)
}

func (x *index) home(tag uint32) uint64 { return uint64(tag) & x.mask }

func slotOf(tag uint32, place int32) uint64 { return uint64(tag)<<32 | uint64(uint32(place+1)) }

func placeOf(s uint64) int32 { return int32(uint32(s)) - 1 }

// rebuild empties the index and sizes it for at most n entries.
func (x *index) rebuild(n int) {
	size := minSlots
	for size < 2*n {
		size *= 2
	}
	x.slots, x.mask = make([]uint64, size), uint64(size-1)
}

// put enters an entry, which must be absent; the index must have room.
func (x *index) put(tag uint32, place int32) {
	i := x.home(tag)
	for x.slots[i] != 0 {
		i = (i + 1) & x.mask
	}
	x.slots[i] = slotOf(tag, place)
}

// remove deletes the entry with this tag at place, and moves back the
// entries of its run that would no longer be found past the hole.
func (x *index) remove(tag uint32, place int32) {
	want := slotOf(tag, place)
	i := x.home(tag)
	for x.slots[i] != want {
		if x.slots[i] == 0 {
			return // absent
		}
		i = (i + 1) & x.mask
	}
	for j := (i + 1) & x.mask; x.slots[j] != 0; j = (j + 1) & x.mask {
		// The entry at j stays if its home lies cyclically in (i, j].
		if h := x.home(uint32(x.slots[j] >> 32)); (j-h)&x.mask < (j-i)&x.mask {
			continue
		}
		x.slots[i] = x.slots[j]
		i = j
	}
	x.slots[i] = 0
}
