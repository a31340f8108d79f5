// Package marks keeps a bounded, time-limited set of keys. Entries leave in
// insertion order, either when their time is up or, when the table is full,
// to make room; so memory stays bounded under any load.
package marks // import "github.com/otelcol-flipt/otelcol-flipt/processor/cachemetrics/internal/marks"

import "github.com/otelcol-flipt/otelcol-flipt/processor/cachemetrics/internal/fifo"

// Table is not safe for concurrent use; the connector holds its own lock.
type Table[K comparable] struct {
	m         map[K]int64   // key → expiry
	q         fifo.Queue[K] // insertion order, so also expiry order; each key once
	max       int
	ttl       int64
	evictions uint64
}

// New makes a table of at most max entries, each kept ttl nanoseconds.
func New[K comparable](max int, ttl int64) *Table[K] {
	return &Table[K]{m: make(map[K]int64), max: max, ttl: ttl}
}

// Has reports whether k is held and live at time at.
func (t *Table[K]) Has(k K, at int64) bool {
	exp, ok := t.m[k]
	return ok && exp > at
}

// Put adds k. A new key expires ttl after now; an existing one keeps its
// expiry, so a key is never queued twice.
func (t *Table[K]) Put(k K, now int64) {
	if _, ok := t.m[k]; !ok {
		t.insert(k, now)
	}
}

// Add adds k and reports whether it was new: not held, or held but expired.
// An expired key is dropped by Expire and added again with a fresh expiry;
// a key is never queued twice. Calling Expire once per batch keeps this to
// one map lookup for a key already held.
func (t *Table[K]) Add(k K, now int64) bool {
	if exp, ok := t.m[k]; ok {
		if exp > now {
			return false
		}
		t.Expire(now)
		if _, ok := t.m[k]; ok {
			return true // the clock went back: new, but it keeps its slot
		}
	}
	t.insert(k, now)
	return true
}

func (t *Table[K]) insert(k K, now int64) {
	if len(t.m) >= t.max {
		t.pop()
		t.evictions++
	}
	t.m[k] = now + t.ttl
	t.q.Push(k)
}

// Expire drops the entries whose time is up. The queue holds keys only
// (half the memory); the front's expiry is read from the map.
func (t *Table[K]) Expire(now int64) {
	for t.q.Len() > 0 && t.m[*t.q.Front()] <= now {
		t.pop()
	}
}

func (t *Table[K]) pop() {
	delete(t.m, *t.q.Front())
	t.q.Pop()
}

// Len is the number of entries, live or expired but not yet dropped.
func (t *Table[K]) Len() int { return len(t.m) }

// Evictions counts entries dropped early because the table was full.
func (t *Table[K]) Evictions() uint64 { return t.evictions }
