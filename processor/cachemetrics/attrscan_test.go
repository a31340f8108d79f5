package cachemetrics

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// The one-pass scan against one Get per key, the obvious way, on maps of
// names that share the keys' lengths and end bytes and differ inside.
func TestAttrIndexAgreesWithGet(t *testing.T) {
	keys := []string{"cache.hit", "flipt.cache.hit", "cache.error", "error.type", "db.system.name", "db.system", "c", "cx"}
	names := append([]string{"cachechit", "cache.hiT", "Cache.hit", "db.systex.name", "db.system.namf", "x", "cy", "", "rpc.system.name"}, keys...)
	scanAgreesWithGet(t, rand.New(rand.NewPCG(4, 5)), keys, names, 2_000, 12)
}

// scanAgreesWithGet scans rounds random maps of up to maxAttrs names and
// requires the mask and values to be what one Get per key finds.
func scanAgreesWithGet(t *testing.T, r *rand.Rand, keys, names []string, rounds, maxAttrs int) {
	t.Helper()
	x := newAttrIndex(keys)
	for round := range rounds {
		m := pcommon.NewMap()
		for j := range r.IntN(maxAttrs) {
			m.PutInt(names[r.IntN(len(names))], int64(j))
		}
		vals := make([]pcommon.Value, len(keys))
		mask := x.scan(m, vals)
		for i, k := range keys {
			want, ok := m.Get(k)
			require.Equal(t, ok, mask&(1<<i) != 0, "round %d key %q", round, k)
			if ok {
				require.Equal(t, want.Int(), vals[i].Int(), "round %d key %q", round, k)
			}
		}
	}
}

// Names of 8 to 16 bytes are compared as two words: against Get on keys of
// every length from 1 to 24 (some lengths with three keys, two keys twice),
// and names that differ from one of them in any one byte, so each byte the
// words cover is shown to count.
func TestAttrIndexWordsAgreeWithGet(t *testing.T) {
	r := rand.New(rand.NewPCG(6, 7))
	word := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = "ab.c"[r.IntN(4)]
		}
		return string(b)
	}
	var keys []string
	for n := 1; n <= 24; n++ {
		keys = append(keys, word(n))
		if n%4 == 2 || n == minWordKey || n == maxWordKey {
			keys = append(keys, word(n), word(n)) // more keys of a length
		}
	}
	keys = append(keys, keys[minWordKey+1], keys[3]) // the same key twice
	var names []string
	for _, k := range keys {
		names = append(names, k)
		for i := range len(k) {
			b := []byte(k)
			b[i] ^= 0x20
			names = append(names, string(b))
		}
	}
	scanAgreesWithGet(t, r, keys, names, 5_000, 16)
}

// The length test reads a name's length modulo 64: names of 64 bytes or
// more that share a key's length modulo 64, and keys that long, still agree
// with Get.
func TestAttrIndexLongNamesAgreeWithGet(t *testing.T) {
	long := func(n int, c byte) string { return strings.Repeat(string(c), n-1) + "z" }
	keys := []string{"cache.hit", "db.system.name", long(70, 'k'), long(64, 'k')}
	names := append([]string{
		long(64+9, 'c'), long(64+14, 'd'), long(128+14, 'd'), // a word key's length modulo 64
		long(134, 'k'), long(70, 'j'), long(6, 'k'), long(128, 'k'), // a long key's length modulo 64
		long(0+64, 'x'), "k", "",
	}, keys...)
	scanAgreesWithGet(t, rand.New(rand.NewPCG(8, 9)), keys, names, 2_000, 12)
}
