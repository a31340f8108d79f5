package fliptaudit

import (
	"crypto/sha256"
	"sync"
	"time"
)

// dedupWindow remembers the SHA-256 of bodies accepted downstream for a
// window, so that a retry of a delivered event is not forwarded twice. It
// holds at most max entries, dropping the oldest first.
type dedupWindow struct {
	window time.Duration
	max    int
	now    func() time.Time

	mu    sync.Mutex
	seen  map[[sha256.Size]byte]time.Time // expiry per body
	order [][sha256.Size]byte             // FIFO of keys, oldest first
}

func newDedupWindow(window time.Duration, maxEntries int) *dedupWindow {
	return &dedupWindow{
		window: window,
		max:    maxEntries,
		now:    time.Now,
		seen:   make(map[[sha256.Size]byte]time.Time),
	}
}

// seenRecently reports whether body was remembered within the window.
func (d *dedupWindow) seenRecently(key [sha256.Size]byte) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	d.expire(now)
	exp, ok := d.seen[key]
	return ok && now.Before(exp)
}

// remember records an accepted body.
func (d *dedupWindow) remember(key [sha256.Size]byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	d.expire(now)
	if _, ok := d.seen[key]; !ok {
		if len(d.order) >= d.max {
			delete(d.seen, d.order[0])
			d.order = d.order[1:]
		}
		d.order = append(d.order, key)
	}
	// A re-remembered key keeps its queue place but a fresh expiry; it may
	// then be evicted a little early, never kept past its expiry.
	d.seen[key] = now.Add(d.window)
}

// expire drops the entries at the front of the queue that have expired.
func (d *dedupWindow) expire(now time.Time) {
	n := 0
	for _, k := range d.order {
		if now.Before(d.seen[k]) {
			break
		}
		delete(d.seen, k)
		n++
	}
	d.order = d.order[n:]
}

// len is the number of remembered bodies.
func (d *dedupWindow) len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.seen)
}
