// Package marks keeps a bounded, time-limited set of keys with a small value.
// Entries leave in insertion order, either when their time is up or, when the
// table is full, to make room; so memory stays bounded under any load.
package marks // import "github.com/otelcol-flipt/otelcol-flipt/processor/cachemetrics/internal/marks"

import "github.com/otelcol-flipt/otelcol-flipt/processor/cachemetrics/internal/fifo"

// Table is not safe for concurrent use; the connector holds its own lock.
type Table[K comparable] struct {
	m         map[K]entry
	q         fifo.Queue[item[K]] // insertion order
	max       int
	ttl       int64
	evictions uint64
}

type entry struct {
	val     uint64
	expires int64
}

type item[K comparable] struct {
	key     K
	expires int64
}

// New makes a table of at most max entries, each kept ttl nanoseconds.
func New[K comparable](max int, ttl int64) *Table[K] {
	return &Table[K]{m: make(map[K]entry), max: max, ttl: ttl}
}

// Get returns the value of a live entry.
func (t *Table[K]) Get(k K, now int64) (uint64, bool) {
	e, ok := t.m[k]
	if !ok || e.expires <= now {
		return 0, false
	}
	return e.val, true
}

// Put sets the value of k. A new key expires ttl after now; an existing one
// keeps its expiry, so a key is never queued twice.
func (t *Table[K]) Put(k K, val uint64, now int64) {
	if e, ok := t.m[k]; ok {
		e.val = val
		t.m[k] = e
		return
	}
	if len(t.m) >= t.max {
		t.pop()
		t.evictions++
	}
	exp := now + t.ttl
	t.m[k] = entry{val: val, expires: exp}
	t.q.Push(item[K]{key: k, expires: exp})
}

// Expire drops the entries whose time is up.
func (t *Table[K]) Expire(now int64) {
	for t.q.Len() > 0 && t.q.Front().expires <= now {
		t.pop()
	}
}

func (t *Table[K]) pop() {
	delete(t.m, t.q.Front().key)
	t.q.Pop()
}

// Len is the number of entries, live or expired but not yet dropped.
func (t *Table[K]) Len() int { return len(t.m) }

// Evictions counts entries dropped early because the table was full.
func (t *Table[K]) Evictions() uint64 { return t.evictions }
