// Package marks keeps a bounded, time-limited set of keys. Entries leave in
// insertion order, either when their time is up or, when the table is full,
// to make room; so memory stays bounded under any load.
package marks // import "github.com/otelcol-flipt/otelcol-flipt/processor/cachemetrics/internal/marks"

// Key is what a table holds: span fingerprints in the connector.
type Key interface{ ~int | ~int64 | ~uint64 }

// Table is not safe for concurrent use; the connector holds its own lock.
//
// The entries sit in a ring in insertion order (so also expiry order), and
// an open-addressing index over fixed-size arrays finds a key's place in the
// ring: a probe for an absent key reads one run of the index and nothing
// else, and nothing is allocated once the table has grown to its working
// size (a Go map of this churn rate costs several cache misses per insert
// and delete).
type Table[K Key] struct {
	q         ring[K]
	idx       index
	max       int
	ttl       int64
	evictions uint64
}

// New makes a table of at most max entries, each kept ttl nanoseconds.
func New[K Key](max int, ttl int64) *Table[K] {
	return &Table[K]{max: max, ttl: ttl, idx: newIndex()}
}

// find returns the place of k in the ring.
func (t *Table[K]) find(k K) (int32, bool) {
	return t.findTag(k, t.idx.tag(uint64(k)))
}

// findTag is find given k's tag, so a call that goes on to insert k mixes
// it once.
func (t *Table[K]) findTag(k K, tag uint32) (int32, bool) {
	x := &t.idx
	if len(x.slots) == 0 {
		return 0, false
	}
	for i := x.home(tag); ; i = (i + 1) & x.mask {
		s := x.slots[i]
		if s == 0 {
			return 0, false
		}
		if uint32(s>>32) == tag {
			if p := placeOf(s); t.q.items[p].key == k {
				return p, true
			}
		}
	}
}

// Has reports whether k is held and live at time at.
func (t *Table[K]) Has(k K, at int64) bool {
	pos, ok := t.find(k)
	return ok && t.q.items[pos].exp > at
}

// Put adds k. A new key expires ttl after now; an existing one keeps its
// expiry, so a key is never queued twice.
func (t *Table[K]) Put(k K, now int64) {
	tag := t.idx.tag(uint64(k))
	if _, ok := t.findTag(k, tag); !ok {
		t.insert(k, tag, now)
	}
}

// Add adds k and reports whether it was new: not held, or held but expired.
// An expired key is dropped by Expire and added again with a fresh expiry;
// a key is never queued twice. Calling Expire once per batch keeps this to
// one probe for a key already held.
func (t *Table[K]) Add(k K, now int64) bool {
	tag := t.idx.tag(uint64(k))
	if pos, ok := t.findTag(k, tag); ok {
		if t.q.items[pos].exp > now {
			return false
		}
		t.Expire(now)
		if _, ok := t.findTag(k, tag); ok {
			return true // the clock went back: new, but it keeps its slot
		}
	}
	t.insert(k, tag, now)
	return true
}

// insert adds k, absent, whose tag is tag.
func (t *Table[K]) insert(k K, tag uint32, now int64) {
	if t.q.n >= t.max {
		t.pop()
		t.evictions++
	}
	if t.q.n == len(t.q.items) {
		t.grow()
	}
	pos := t.q.push(entry[K]{key: k, exp: now + t.ttl})
	t.idx.put(tag, pos)
}

// grow doubles the ring, up to max, and rebuilds the index for the new
// places: rare (once per doubling), so the steady state never pays it.
func (t *Table[K]) grow() {
	t.q.resize(min(t.max, max(8, 2*len(t.q.items))))
	t.idx.rebuild(len(t.q.items))
	for i := range t.q.n {
		pos := t.q.at(i)
		t.idx.put(t.idx.tag(uint64(t.q.items[pos].key)), pos)
	}
}

// Expire drops the entries whose time is up.
func (t *Table[K]) Expire(now int64) {
	for t.q.n > 0 && t.q.front().exp <= now {
		t.pop()
	}
}

func (t *Table[K]) pop() {
	t.idx.remove(t.idx.tag(uint64(t.q.front().key)), int32(t.q.head))
	t.q.pop()
}

// Len is the number of entries, live or expired but not yet dropped.
func (t *Table[K]) Len() int { return t.q.n }

// Evictions counts entries dropped early because the table was full.
func (t *Table[K]) Evictions() uint64 { return t.evictions }
