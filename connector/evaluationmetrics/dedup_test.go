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
