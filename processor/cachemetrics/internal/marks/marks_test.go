package marks

import (
	"runtime"
	"testing"
)

func TestTTLAndCapacity(t *testing.T) {
	tb := New[int](3, 10)
	tb.Put(1, 0)
	tb.Put(2, 5)
	if !tb.Has(1, 9) {
		t.Fatal("entry 1 should be live at 9")
	}
	if tb.Has(1, 10) {
		t.Fatal("entry 1 should be expired at 10")
	}
	tb.Put(2, 6) // existing: expiry stays at 15
	tb.Expire(10)
	if tb.Len() != 1 || !tb.Has(2, 14) || tb.Has(2, 15) {
		t.Fatalf("Len = %d, want 1 with entry 2 live until 15", tb.Len())
	}
	tb.Put(3, 11)
	tb.Put(4, 11)
	tb.Put(5, 11) // full: evicts 2, the oldest
	if tb.Has(2, 11) {
		t.Fatal("entry 2 should have been evicted")
	}
	if tb.Evictions() != 1 || tb.Len() != 3 {
		t.Fatalf("evictions=%d len=%d", tb.Evictions(), tb.Len())
	}
}

func TestAdd(t *testing.T) {
	tb := New[int](2, 10)
	if !tb.Add(1, 0) || tb.Add(1, 9) {
		t.Fatal("first Add is new, a second one within the ttl is not")
	}
	if !tb.Add(1, 10) {
		t.Fatal("after the ttl the key is new again")
	}
	if tb.Add(1, 19) || !tb.Add(1, 20) {
		t.Fatal("the second life has its own ttl, from 10")
	}
	if tb.q.Len() != 1 || tb.Len() != 1 {
		t.Fatalf("queue=%d map=%d: a key is queued once", tb.q.Len(), tb.Len())
	}
	// Full: the oldest goes first and is new again.
	tb.Add(2, 21)
	tb.Add(3, 22)
	if tb.Evictions() != 1 || !tb.Add(1, 23) || tb.Add(3, 23) {
		t.Fatalf("evictions=%d: 1 evicted first, 3 still held", tb.Evictions())
	}
}

func TestQueueCompacts(t *testing.T) {
	tb := New[int](10, 1)
	for i := range 100000 {
		tb.Put(i, int64(i))
		tb.Expire(int64(i))
	}
	if tb.q.Len() > 10 || tb.Len() > 10 {
		t.Fatalf("queue=%d map=%d, want at most 10", tb.q.Len(), tb.Len())
	}
}

// bytesPerEntry is the heap a full table of n uint64 keys holds, per entry,
// after it has turned over once (so the queue is at its working size).
func bytesPerEntry(n int) float64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	tb := New[uint64](n, 1<<62)
	for i := range 2 * n {
		tb.Add(uint64(i)*0x9e3779b97f4a7c15, int64(i))
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(tb)
	return float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
}

// A full table at the default size stays small per entry: a 16-byte map slot
// and an 8-byte queue slot, with the slack of their growth.
func TestMemoryPerEntry(t *testing.T) {
	got := bytesPerEntry(100_000)
	t.Logf("%.1f bytes per entry at 100000 entries", got)
	if got > 80 {
		t.Fatalf("%.1f bytes per entry, want at most 80", got)
	}
}
