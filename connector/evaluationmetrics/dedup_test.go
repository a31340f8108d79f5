package evaluationmetrics

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

func idSpan(n uint64) ptrace.Span {
	s := ptrace.NewSpan()
	var tid pcommon.TraceID
	for i := range 8 {
		tid[i] = byte(n >> (8 * i))
	}
	tid[15] = 1
	s.SetTraceID(tid)
	s.SetSpanID(pcommon.SpanID{1, 2})
	return s
}

// Below its capacity the table is exact: checked against a plain map of
// expiry times under random sightings and re-sends as time passes.
func TestDedupAgainstModel(t *testing.T) {
	const window = time.Second
	d := newDedup(Dedup{Window: window, MaxEntries: 4096})
	expiry := map[uint64]int64{}
	r := rand.New(rand.NewPCG(1, 2))
	now := int64(1e12)
	tick := int64(1) << tickShift
	for step := range 50000 {
		now += int64(r.IntN(3)) * tick
		n := uint64(r.IntN(1000))
		exp, held := expiry[n]
		// Ticks round the window: one tick of slack either side.
		if held && exp-now < tick && exp-now > -tick {
			if d.first(idSpan(n), now) {
				expiry[n] = now + int64(window)
			}
			continue
		}
		want := !held || exp <= now
		require.Equal(t, want, d.first(idSpan(n), now), "step %d id %d", step, n)
		if want {
			expiry[n] = now + int64(window)
		}
	}
	assert.Zero(t, d.evicted)
	assert.True(t, d.first(ptrace.NewSpan(), now), "a span without IDs always counts")
	assert.True(t, d.first(ptrace.NewSpan(), now))
}

// Memory is fixed: far more spans than max_entries are all counted as new,
// the oldest given up (counted), and a recent one is still known.
func TestDedupBounded(t *testing.T) {
	d := newDedup(Dedup{Window: time.Hour, MaxEntries: 1000})
	size := len(d.buckets)
	for n := range uint64(100_000) {
		require.True(t, d.first(idSpan(n), 1e12))
	}
	assert.Equal(t, size, len(d.buckets))
	assert.NotZero(t, d.evicted)
	assert.False(t, d.first(idSpan(99_999), 1e12), "the latest is remembered")
}

// sameBucket returns n span IDs whose fingerprints pick bucket 0 of d.
func sameBucket(d *dedup, n int) []uint64 {
	var ids []uint64
	for id := uint64(0); len(ids) < n; id++ {
		if fingerprint(idSpan(id))&d.mask == 0 {
			ids = append(ids, id)
		}
	}
	return ids
}

// A bucket is a queue: when all eight slots are live, the ninth span gives
// up the oldest (counted), and every other one is still known.
func TestDedupFullBucketGivesUpItsOldest(t *testing.T) {
	d := newDedup(Dedup{Window: time.Hour, MaxEntries: 4})
	now := int64(1e12)
	ids := sameBucket(d, 9)
	for _, id := range ids[:8] {
		require.True(t, d.first(idSpan(id), now))
	}
	require.Zero(t, d.evicted, "eight fit")
	require.True(t, d.first(idSpan(ids[8]), now))
	assert.Equal(t, uint64(1), d.evicted)
	for _, id := range ids[1:] {
		assert.False(t, d.first(idSpan(id), now), "id %d is still known", id)
	}
	assert.True(t, d.first(idSpan(ids[0]), now), "the oldest was given up")
	assert.Equal(t, uint64(2), d.evicted, "and storing it again gave up the next oldest")
	assert.True(t, d.first(idSpan(ids[1]), now))
}

// Expired entries make room without counting as evictions, and a span seen
// again after its window counts again and is remembered again.
func TestDedupExpiredEntriesMakeRoom(t *testing.T) {
	const window = time.Second
	d := newDedup(Dedup{Window: window, MaxEntries: 4})
	now := int64(1e12)
	ids := sameBucket(d, 16)
	for _, id := range ids[:8] {
		require.True(t, d.first(idSpan(id), now))
	}
	now += int64(window) + 2<<tickShift // past the window, rounding included
	for _, id := range ids[8:] {
		require.True(t, d.first(idSpan(id), now))
	}
	assert.Zero(t, d.evicted)
	for _, id := range ids[8:] {
		assert.False(t, d.first(idSpan(id), now))
	}
	now += int64(window) + 2<<tickShift
	assert.True(t, d.first(idSpan(ids[0]), now), "an expired span counts again")
	assert.False(t, d.first(idSpan(ids[0]), now), "and is remembered again")
	assert.Zero(t, d.evicted)
}
