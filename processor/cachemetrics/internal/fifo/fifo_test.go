package fifo

import "testing"

func TestQueue(t *testing.T) {
	var q Queue[int]
	for i := range 10000 {
		q.Push(i)
		if i%2 == 1 {
			if got := *q.Front(); got != i/2 {
				t.Fatalf("Front = %d, want %d", got, i/2)
			}
			q.Pop()
		}
	}
	if q.Len() != 5000 || *q.Front() != 5000 {
		t.Fatalf("Len=%d Front=%d", q.Len(), *q.Front())
	}
	for q.Len() > 0 {
		q.Pop()
	}
	if cap(q.items) > 16384 {
		t.Fatalf("slice not reused: cap %d", cap(q.items))
	}
}
