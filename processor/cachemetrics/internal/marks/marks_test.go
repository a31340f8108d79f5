package marks

import "testing"

func TestTTLAndCapacity(t *testing.T) {
	tb := New[int](3, 10)
	tb.Put(1, 7, 0)
	tb.Put(2, 8, 5)
	if v, ok := tb.Get(1, 9); !ok || v != 7 {
		t.Fatalf("Get(1) = %v %v", v, ok)
	}
	if _, ok := tb.Get(1, 10); ok {
		t.Fatal("entry 1 should be expired at 10")
	}
	tb.Put(1, 9, 6) // existing: value changes, expiry stays
	tb.Expire(10)
	if tb.Len() != 1 {
		t.Fatalf("Len = %d, want 1", tb.Len())
	}
	tb.Put(3, 1, 11)
	tb.Put(4, 1, 11)
	tb.Put(5, 1, 11) // full: evicts 2, the oldest
	if _, ok := tb.Get(2, 11); ok {
		t.Fatal("entry 2 should have been evicted")
	}
	if tb.Evictions() != 1 || tb.Len() != 3 {
		t.Fatalf("evictions=%d len=%d", tb.Evictions(), tb.Len())
	}
}

func TestQueueCompacts(t *testing.T) {
	tb := New[int](10, 1)
	for i := range 100000 {
		tb.Put(i, 0, int64(i))
		tb.Expire(int64(i))
	}
	if tb.q.Len() > 10 || tb.Len() > 10 {
		t.Fatalf("queue=%d map=%d, want at most 10", tb.q.Len(), tb.Len())
	}
}
