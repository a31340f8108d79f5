// Package merge decides which copies of an audit event to write when the same
// events arrive from more than one source (the webhook, Flipt's audit log
// file, the span events in its traces).
//
// The rule is a union by multiplicity: per event key the table counts the
// arrivals of each source, and an arrival from a source is written only while
// that source's count, this arrival included, exceeds the count of every
// other source. Two complete copies give one line; two copies with different
// gaps give their union; an event that really happened twice, and so reaches
// a source twice, is written twice.
package merge

import "time"

// Sources is the number of sources the table tells apart; a source is an
// index below it.
const Sources = 3

type counts [Sources]uint32

// item is an entry's place in arrival order.
type item struct {
	key   Key
	first time.Duration // first arrival, since the table's epoch
}

// Table holds the counts of recently seen events. Decisions of one batch are
// staged by Arrive and applied by Commit or discarded by Rollback, so only
// batches that reached the file count. It is not safe for concurrent use:
// the exporter serializes batches (one write at a time) around it.
type Table struct {
	window     time.Duration
	maxEntries int
	now        func() time.Time
	epoch      time.Time // times are kept relative to it: monotonic, and 8 bytes

	entries map[Key]counts
	fifo    []item // oldest first from head
	head    int

	staged map[Key]int // index in order of a key staged in the batch in progress
	order  []stage     // the batch's keys in arrival order, with their arrivals
}

// stage is a key's arrivals in the batch in progress, with what the table
// held for it when the batch first met it (entries change only in Begin and
// Commit, so that stays true until Commit).
type stage struct {
	key       Key
	held, add counts
	had       bool // the key was in entries
}

// New returns a table that forgets an event window after its first arrival
// and holds at most maxEntries events. now is the clock (time.Now if nil).
func New(window time.Duration, maxEntries int, now func() time.Time) *Table {
	if now == nil {
		now = time.Now
	}
	return &Table{
		window:     window,
		maxEntries: maxEntries,
		now:        now,
		epoch:      now(),
		entries:    map[Key]counts{},
		staged:     map[Key]int{},
	}
}

// Len is the number of events held.
func (t *Table) Len() int { return len(t.entries) }

// Begin starts a batch and forgets events older than the window; it
// returns how many it forgot.
func (t *Table) Begin() (expired int) {
	clear(t.staged)
	t.order = t.order[:0]
	cutoff := t.now().Sub(t.epoch) - t.window
	for t.head < len(t.fifo) && t.fifo[t.head].first <= cutoff {
		delete(t.entries, t.fifo[t.head].key)
		t.pop()
		expired++
	}
	return expired
}

// Arrive stages one arrival of key from source and reports whether it is to
// be written (true) or is a copy of what was written already (false).
func (t *Table) Arrive(key Key, source int) (write bool) {
	i, staged := t.staged[key]
	if !staged {
		held, had := t.entries[key]
		i = len(t.order)
		t.staged[key] = i
		t.order = append(t.order, stage{key: key, held: held, had: had})
	}
	st := &t.order[i]
	st.add[source]++
	mine := st.held[source] + st.add[source]
	for s := range Sources {
		if s != source && st.held[s]+st.add[s] >= mine {
			return false
		}
	}
	return true
}

// Commit applies the staged arrivals. New events are added at the end of
// the arrival order; if that exceeds the bound the oldest are forgotten
// before their window ended, and their number is returned.
func (t *Table) Commit() (added, evicted int) {
	now := t.now().Sub(t.epoch)
	for i := range t.order {
		st := &t.order[i]
		if !st.had {
			added++
			t.fifo = append(t.fifo, item{key: st.key, first: now})
		}
		c := st.held
		for s := range Sources {
			c[s] += st.add[s]
		}
		t.entries[st.key] = c
	}
	for len(t.entries) > t.maxEntries && t.head < len(t.fifo) {
		delete(t.entries, t.fifo[t.head].key)
		t.pop()
		evicted++
	}
	t.Rollback()
	return added, evicted
}

// Rollback discards the staged arrivals: the batch did not reach the file,
// so its retry must not be taken for a copy.
func (t *Table) Rollback() {
	clear(t.staged)
	t.order = t.order[:0]
}

// pop removes the oldest item, compacting the queue once half of it is
// spent so its memory follows the number of entries.
func (t *Table) pop() {
	t.fifo[t.head] = item{}
	t.head++
	if t.head == len(t.fifo) {
		t.fifo, t.head = t.fifo[:0], 0
	} else if t.head >= 1024 && t.head*2 >= len(t.fifo) {
		n := copy(t.fifo, t.fifo[t.head:])
		t.fifo, t.head = t.fifo[:n], 0
	}
}
