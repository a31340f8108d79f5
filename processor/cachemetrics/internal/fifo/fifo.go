// Package fifo is a first-in first-out queue on one slice. Popped slots are
// zeroed (no lingering references) and the slice is reused once mostly
// consumed, so a queue that stays about the same length stops allocating.
package fifo // import "github.com/otelcol-flipt/otelcol-flipt/processor/cachemetrics/internal/fifo"

// Queue is not safe for concurrent use.
type Queue[T any] struct {
	items []T
	head  int
}

// Push adds v at the back.
func (q *Queue[T]) Push(v T) { q.items = append(q.items, v) }

// Len is the number of queued items.
func (q *Queue[T]) Len() int { return len(q.items) - q.head }

// Front is the oldest item; the queue must not be empty.
func (q *Queue[T]) Front() *T { return &q.items[q.head] }

// Pop drops the oldest item; the queue must not be empty.
func (q *Queue[T]) Pop() {
	var zero T
	q.items[q.head] = zero
	q.head++
	if q.head >= 256 && q.head*2 >= len(q.items) {
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items = q.items[:n]
		q.head = 0
	}
}
