package fliptaudit

import (
	"net/http"
	"sync"
	"time"
)

// Over HTTP/1 the next consumer runs on the request's own goroutine, and a
// watchdog timer gives the answer if it has not returned grace after the
// hold ended: a hand-off to another goroutine cost two goroutine switches
// per request, about 3 µs of the 50 a captured request costs. The
// watchdog's 503 carries its Content-Length and is flushed, so it is whole
// on the wire while the handler still waits; HTTP/2 ends a stream only
// when its handler returns, so there the hand-off stays (handOff).
//
// A consumer that ignores its context and never returns keeps its
// request's goroutine, connection and admission slot: at most
// max_concurrent_requests of them, each answered 503.

// watchdog is one request's: armed while its next consumer runs.
type watchdog struct {
	h     *webhookHandler
	w     http.ResponseWriter
	r     *http.Request
	hold  *holdCtx
	timer *time.Timer // runs fire; made once per pooled watchdog
	due   time.Time   // when the timer fires

	mu       sync.Mutex
	answered bool // by fire: the handler must not write
	taken    bool // by the handler: fire must not write

	stale      bool // a call of fire may be pending from an earlier arming
	prev, next *watchdog
}

var watchdogs sync.Pool

// inflight is what Shutdown needs to know of the requests in progress:
// how many run, how many of them were answered by their watchdog while
// their consumer still runs (orphans), and the armed watchdogs, which
// Shutdown brings forward.
type inflight struct {
	mu      sync.Mutex
	running int
	orphans int
	stopped bool
	armed   *watchdog // a list through prev and next
	quiet   chan struct{}
}

func newInflight() *inflight { return &inflight{quiet: make(chan struct{})} }

func (in *inflight) enter() {
	in.mu.Lock()
	in.running++
	in.mu.Unlock()
}

// leave ends a request; orphan says its watchdog answered it.
func (in *inflight) leave(orphan bool) {
	in.mu.Lock()
	in.running--
	if orphan {
		in.orphans--
	}
	in.checkQuiet()
	in.mu.Unlock()
}

// checkQuiet closes quiet once Shutdown began and every request still
// running has its answer. Called with in.mu held.
func (in *inflight) checkQuiet() {
	if in.stopped && in.running == in.orphans && in.quiet != nil {
		close(in.quiet)
		in.quiet = nil
	}
}

// Quiet is closed once Shutdown began and every request still running
// was answered: those wait on a consumer that ignores its context.
func (in *inflight) Quiet() <-chan struct{} {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.quiet == nil {
		c := make(chan struct{})
		close(c)
		return c
	}
	return in.quiet
}

// stop brings every armed watchdog forward to grace from now: a hold
// ended by Shutdown is answered as handOff answers it.
func (in *inflight) stop(grace time.Duration) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.stopped = true
	due := time.Now().Add(grace)
	for d := in.armed; d != nil; d = d.next {
		if d.due.After(due) {
			d.due = due
			if !d.timer.Reset(grace) {
				d.stale = true // it had fired: fire may run twice
			}
		}
	}
	in.checkQuiet()
}

// arm starts r's watchdog for a consumer about to run under hold.
func (h *webhookHandler) arm(w http.ResponseWriter, r *http.Request, hold *holdCtx) *watchdog {
	d, _ := watchdogs.Get().(*watchdog)
	if d == nil {
		d = &watchdog{}
	}
	d.h, d.w, d.r, d.hold = h, w, r, hold
	in := h.inflight
	in.mu.Lock()
	wait := time.Until(hold.deadline) + h.grace
	if in.stopped {
		wait = min(wait, h.grace)
	}
	d.due = time.Now().Add(wait)
	if d.timer == nil {
		d.timer = time.AfterFunc(wait, d.fire)
	} else {
		d.timer.Reset(wait)
	}
	d.next = in.armed
	if in.armed != nil {
		in.armed.prev = d
	}
	in.armed = d
	in.mu.Unlock()
	return d
}

// disarm takes the answer back from d once the consumer returned; false
// says the watchdog gave it already.
func (h *webhookHandler) disarm(d *watchdog) bool {
	d.mu.Lock()
	answered := d.answered
	d.taken = true
	d.mu.Unlock()
	in := h.inflight
	in.mu.Lock()
	stopped := d.timer.Stop()
	if d.prev != nil {
		d.prev.next = d.next
	} else {
		in.armed = d.next
	}
	if d.next != nil {
		d.next.prev = d.prev
	}
	reuse := stopped && !d.stale && !answered
	in.mu.Unlock()
	if reuse {
		// No call of fire is pending: the timer can serve another request.
		*d = watchdog{timer: d.timer}
		watchdogs.Put(d)
	}
	return !answered
}

// fire answers 503 for a consumer that has not returned grace after its
// hold ended, unless the handler took the answer first.
func (d *watchdog) fire() {
	d.mu.Lock()
	if d.taken || d.answered {
		d.mu.Unlock()
		return
	}
	d.answered = true
	err := errHoldExpired
	if d.h.stopping.Err() != nil {
		err = errStopping
	}
	// The connection cannot serve another request while the consumer
	// holds its goroutine.
	d.w.Header().Set("Connection", "close")
	d.h.answerFailed(d.w, d.r, d.hold, err)
	_ = http.NewResponseController(d.w).Flush()
	d.mu.Unlock()
	in := d.h.inflight
	in.mu.Lock()
	in.orphans++
	in.checkQuiet()
	in.mu.Unlock()
}
