package ancestry

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The index against a Go map, over many resets of one table: small batches
// after a large one, keys repeated across batches, and keys that share
// their low bits (which a plain mask of the key would pile into one run).
func TestIndexAgainstMap(t *testing.T) {
	var x index
	r := rand.New(rand.NewPCG(1, 2))
	for batch, size := range []int{10_000, 3, 500, 0, 70_000, 1, 64, 65, 2_000} {
		want := map[uint64]Node{}
		for i := range size {
			var k uint64
			switch i % 3 {
			case 0:
				k = r.Uint64()
			case 1:
				k = uint64(i) << 32 // same low 32 bits
			default:
				k = uint64(i % 97) // repeats within and across batches
			}
			got, found := x.getOrPut(k, Node(len(want)))
			n, ok := want[k]
			require.Equal(t, ok, found, "batch %d key %x", batch, k)
			if !ok {
				n = Node(len(want))
				want[k] = n
			}
			require.Equal(t, n, got)
		}
		assert.Equal(t, len(want), x.used)
		assert.LessOrEqual(t, 2*x.used, len(x.slots), "at most half full")
		x.reset()
	}
}

func TestIndexGenerationWraps(t *testing.T) {
	var x index
	x.getOrPut(7, 0)
	x.gen = ^uint32(0) // the next reset wraps
	for i := range x.slots {
		x.slots[i] = slot{key: 9, node: 3, gen: 1} // what a generation long ago left
	}
	x.reset()
	assert.Equal(t, uint32(1), x.gen)
	_, found := x.getOrPut(9, 0)
	assert.False(t, found, "a slot left from an old generation is empty after the wrap")
}

// Key families a plain mask or a plain multiply would pile into a few runs:
// keys that differ only in their high bits, only in their low bits, or by a
// fixed stride. With a random odd multiplier per batch no probe run grows
// long.
func TestIndexRunsStayShort(t *testing.T) {
	families := map[string]func(i uint64) uint64{
		"high bits": func(i uint64) uint64 { return i << 48 },
		"low bits":  func(i uint64) uint64 { return 0xdead_beef_0000_0000 | i },
		"stride":    func(i uint64) uint64 { return i * 1 << 20 },
	}
	for name, key := range families {
		var x index
		for range 3 { // three batches, three multipliers
			for i := range uint64(30_000) {
				x.getOrPut(key(i), Node(i))
			}
			longest, run := 0, 0
			for i := range 2 * len(x.slots) { // twice round: a run may wrap
				if x.slots[i%len(x.slots)].gen == x.gen {
					run++
					longest = max(longest, run)
				} else {
					run = 0
				}
			}
			assert.Less(t, longest, 200, "%s: longest run of %d slots", name, longest)
			x.reset()
		}
	}
}
