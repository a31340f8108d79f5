package merge

import (
	"crypto/sha256"
	"encoding/binary"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	webhook = 0
	file    = 1
	trace   = 2
)

var testHasher = NewHasher()

func key(i int) Key {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(i))
	return testHasher.Key(b[:])
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// batch stages arrivals and commits them, returning the write decisions.
func batch(tb *Table, arrivals ...[2]int) []bool {
	tb.Begin()
	var out []bool
	for _, a := range arrivals {
		out = append(out, tb.Arrive(key(a[0]), a[1]))
	}
	tb.Commit()
	return out
}

func TestUnionByMultiplicity(t *testing.T) {
	tb := New(time.Minute, 100, nil)
	assert.Equal(t, []bool{true, true}, batch(tb, [2]int{1, webhook}, [2]int{1, webhook}), "two real events from one source")
	assert.Equal(t, []bool{false, false, true}, batch(tb, [2]int{1, trace}, [2]int{1, trace}, [2]int{1, trace}), "the third is new")
	assert.Equal(t, []bool{false, false, false, true}, batch(tb,
		[2]int{1, file}, [2]int{1, file}, [2]int{1, file}, [2]int{1, file}))
	assert.Equal(t, []bool{false, false, true}, batch(tb, [2]int{1, webhook}, [2]int{1, webhook}, [2]int{1, webhook}),
		"webhook at 3 and 4 stays within file's 4, then 5 exceeds it")
}

func TestRollbackLeavesNoTrace(t *testing.T) {
	tb := New(time.Minute, 100, nil)
	tb.Begin()
	require.True(t, tb.Arrive(key(1), webhook))
	tb.Rollback()
	assert.Equal(t, 0, tb.Len())
	assert.Equal(t, []bool{true}, batch(tb, [2]int{1, trace}), "the failed write was not a write")
	assert.Equal(t, []bool{false}, batch(tb, [2]int{1, webhook}))
}

func TestWindowAndBound(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	tb := New(5*time.Minute, 2, c.now)
	batch(tb, [2]int{1, webhook})
	c.t = c.t.Add(5*time.Minute - 1)
	assert.Equal(t, []bool{false}, batch(tb, [2]int{1, trace}), "inside the window")
	c.t = c.t.Add(1)
	assert.Equal(t, 1, tb.Begin(), "expired at window after the first arrival")
	tb.Rollback()
	assert.Equal(t, []bool{true}, batch(tb, [2]int{1, trace}), "forgotten, so written again")

	tb.Begin()
	tb.Arrive(key(2), webhook)
	tb.Arrive(key(3), webhook)
	added, evicted := tb.Commit()
	assert.Equal(t, 2, added)
	assert.Equal(t, 1, evicted, "key 1, the oldest, makes room")
	assert.Equal(t, 2, tb.Len())
	assert.Equal(t, []bool{true, false}, batch(tb, [2]int{1, file}, [2]int{3, file}))
}

// The queue's memory follows the entries: a steady stream through a full
// table does not grow it.
func TestQueueStaysBounded(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	tb := New(time.Minute, 1000, c.now)
	for i := range 100_000 {
		batch(tb, [2]int{i, webhook})
		c.t = c.t.Add(time.Millisecond)
	}
	assert.Equal(t, 1000, tb.Len())
	assert.LessOrEqual(t, cap(tb.fifo), 4096)
}

// BenchmarkEntryMemory reports the heap held per remembered event.
func BenchmarkEntryMemory(b *testing.B) {
	const n = 100_000
	for range b.N {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		tb := New(time.Hour, n, nil)
		tb.Begin()
		for i := range n {
			tb.Arrive(key(i), webhook)
		}
		tb.Commit()
		tb.Rollback()
		clear(tb.staged) // staging space is reused, not held per entry
		tb.staged = map[Key]int{}
		tb.order = nil
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "B/entry")
		runtime.KeepAlive(tb)
	}
}

func TestKeySameBytesSameKey(t *testing.T) {
	h := NewHasher()
	a := []byte(`{"version":"0.2","type":"flag","action":"created"}`)
	assert.Equal(t, h.Key(a), h.Key(append([]byte(nil), a...)))
	assert.NotEqual(t, h.Key(a), h.Key(a[:len(a)-1]))
	// Another hasher (another process) has other seeds.
	assert.NotEqual(t, h.Key(a), NewHasher().Key(a))
}

func TestKeysDoNotCollide(t *testing.T) {
	h := NewHasher()
	seen := make(map[Key]int, 1<<16)
	var b [8]byte
	for i := range 1 << 16 {
		binary.BigEndian.PutUint64(b[:], uint64(i))
		k := h.Key(b[:])
		prev, dup := seen[k]
		require.False(t, dup, "inputs %d and %d share a key", prev, i)
		seen[k] = i
	}
}

// BenchmarkKey compares the key's hash with SHA-256 of the same line, the
// key this package used before, on a line the size of a Flipt flag event.
func BenchmarkKey(b *testing.B) {
	line := make([]byte, 330)
	for i := range line {
		line[i] = byte('a' + i%26)
	}
	b.Run("maphash128", func(b *testing.B) {
		h := NewHasher()
		b.SetBytes(int64(len(line)))
		for b.Loop() {
			_ = h.Key(line)
		}
	})
	b.Run("sha256", func(b *testing.B) {
		b.SetBytes(int64(len(line)))
		for b.Loop() {
			_ = sha256.Sum256(line)
		}
	})
}
