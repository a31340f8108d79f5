package cachemetrics

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// The one-pass scan against one Get per key, the obvious way, on maps of
// names that share the keys' lengths and end bytes and differ inside.
func TestAttrIndexAgreesWithGet(t *testing.T) {
	keys := []string{"cache.hit", "flipt.cache.hit", "cache.error", "error.type", "db.system.name", "db.system", "c", "cx"}
	names := append([]string{"cachechit", "cache.hiT", "Cache.hit", "db.systex.name", "db.system.namf", "x", "cy", "", "rpc.system.name"}, keys...)
	x := newAttrIndex(keys)
	r := rand.New(rand.NewPCG(4, 5))
	for round := range 2_000 {
		m := pcommon.NewMap()
		for j := range r.IntN(12) {
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
