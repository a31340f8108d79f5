package cachemetrics

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// The per-rule series cache against add, on two stores fed the same random
// lookups: several instances, rules whose labels are cut or overflow a
// small max_series, and expiries in between that drop series and whole
// instances. Both stores must end up with the same counts, overflow and
// truncation counters, and emit the same metrics.
func TestSeriesCacheAgreesWithAdd(t *testing.T) {
	long := strings.Repeat("x", 40)
	rules := []*inferRule{
		{cache: "memory", typ: "evaluation"},
		{cache: "memory", typ: "flag"},
		{cache: long, typ: "flag"}, // cut at 16: never cached
		{cache: "redis", typ: long},
	}
	for seed := range uint64(20) {
		r := rand.New(rand.NewPCG(seed, 6))
		plain := newStore([]string{"service.instance.id"}, 3, 16)
		cached := newStore([]string{"service.instance.id"}, 3, 16)
		caches := make([]seriesCache, len(rules))
		var insts [2][]*resourceState // the same instances in each store
		for i := range 4 {
			attrs := pcommon.NewMap()
			attrs.PutStr("service.instance.id", string(rune('a'+i)))
			insts[0] = append(insts[0], plain.resource(attrs))
			insts[1] = append(insts[1], cached.resource(attrs))
		}
		now := pcommon.Timestamp(1)
		for range 2_000 {
			now += pcommon.Timestamp(r.IntN(10))
			if r.IntN(50) == 0 {
				cutoff := now - pcommon.Timestamp(r.IntN(200))
				plain.expire(cutoff)
				cached.expire(cutoff)
			}
			ri, ii, o := r.IntN(len(rules)), r.IntN(len(insts[0])), outcome(r.IntN(int(numOutcomes)))
			rl := rules[ri]
			plain.add(insts[0][ii], rl.cache, rl.typ, o, now)
			cached.addCached(&caches[ri], insts[1][ii], rl.cache, rl.typ, o, now)
		}
		require.Equal(t, plain.overflowed, cached.overflowed, "seed %d", seed)
		require.Equal(t, plain.truncated, cached.truncated, "seed %d", seed)
		require.Equal(t, plain.n, cached.n, "seed %d", seed)
		names := [numOutcomes]string{"h", "m", "e"}
		want, got := plain.build(names, now), cached.build(names, now)
		require.NotZero(t, want.DataPointCount())
		require.Equal(t, points(t, want), points(t, got), "seed %d", seed)
	}
}
