package fliptaudit

import (
	"net/http"
	"sync"
	"time"
)

// Over HTTP/1 the next consumer runs on the request's own goroutine, and a
// watchdog gives the answer if it has not returned grace after the hold
// ended, instead of a hand-off to another goroutine and two goroutine
// switches per request. The watchdog's 503 carries its Content-Length and
// is flushed, so it is whole on the wire while the handler still waits;
// HTTP/2 ends a stream only when its handler returns, so there the
// hand-off stays (handOff).
//
// One goroutine per webhook checks the armed watchdogs every tick, and only
// while some are armed: a timer per request cost more than the rest of the
// watchdog. An answer is due grace after the hold, and grace is half the
// margin left before the write deadline, so a tick late is still in time.
//
// A consumer that ignores its context and never returns keeps its
// request's goroutine, connection and admission slot: at most
// max_concurrent_requests of them, each answered 503.

// watchdog is one request's, armed while its next consumer runs.
type watchdog struct {
	w    http.ResponseWriter
	r    *http.Request
	hold *holdCtx
	due  time.Time // when the answer goes out unless the handler takes it

	// mu is held by the checker from its claim until the answer is out,
	// so the handler sees answered only once it may return.
	mu       sync.Mutex
	answered bool // by the checker: the handler must not write
	taken    bool // by the handler: the checker must not write

	prev, next *watchdog
}

var watchdogs sync.Pool

// inflight is what Shutdown and the checker need to know of the requests
// in progress: how many run, how many of them were answered by their
// watchdog while their consumer still runs (orphans), and the armed
// watchdogs.
type inflight struct {
	answer func(*watchdog) // writes a watchdog's 503
	tick   time.Duration

	mu       sync.Mutex
	running  int
	orphans  int
	stopped  bool
	checking bool      // the checker goroutine runs
	armed    *watchdog // a list through prev and next
	quiet    chan struct{}
}

func newInflight(grace time.Duration, answer func(*watchdog)) *inflight {
	return &inflight{answer: answer, tick: max(min(100*time.Millisecond, grace/4), time.Millisecond), quiet: make(chan struct{})}
}

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

// checkQuiet closes quiet once Shutdown began and the requests still
// running are all orphans. With none running Shutdown returns by itself,
// after the last answers are flushed, which a handler returning has not
// yet done. Called with in.mu held.
func (in *inflight) checkQuiet() {
	if in.stopped && in.orphans > 0 && in.running == in.orphans && in.quiet != nil {
		close(in.quiet)
		in.quiet = nil
	}
}

// Quiet is closed once Shutdown began and every request still running
// was answered by its watchdog: those wait on a consumer that ignores its
// context.
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
		}
	}
	in.checkQuiet()
}

// arm watches r, whose consumer is about to run under hold, until disarm:
// its answer is due grace after the hold ends.
func (in *inflight) arm(w http.ResponseWriter, r *http.Request, hold *holdCtx, grace time.Duration) *watchdog {
	d, _ := watchdogs.Get().(*watchdog)
	if d == nil {
		d = &watchdog{}
	}
	d.w, d.r, d.hold = w, r, hold
	wait := time.Until(hold.deadline) + grace
	in.mu.Lock()
	if in.stopped {
		wait = min(wait, grace) // Shutdown ended the hold already
	}
	d.due = time.Now().Add(wait)
	d.next = in.armed
	if in.armed != nil {
		in.armed.prev = d
	}
	in.armed = d
	if !in.checking {
		in.checking = true
		go in.check()
	}
	in.mu.Unlock()
	return d
}

// unlink takes d out of the armed list. Called with in.mu held.
func (in *inflight) unlink(d *watchdog) {
	if d.prev != nil {
		d.prev.next = d.next
	} else if in.armed == d {
		in.armed = d.next
	}
	if d.next != nil {
		d.next.prev = d.prev
	}
	d.prev, d.next = nil, nil
}

// disarm takes the answer back from d once the consumer returned; false
// says the watchdog gave it already.
func (in *inflight) disarm(d *watchdog) bool {
	d.mu.Lock()
	answered := d.answered
	d.taken = true
	d.mu.Unlock()
	if answered {
		return false // the checker unlinked it; it is not reused
	}
	in.mu.Lock()
	in.unlink(d)
	in.mu.Unlock()
	*d = watchdog{}
	watchdogs.Put(d)
	return true
}

// check answers the watchdogs that are due, every tick, until none is
// armed. Each answer is written on a goroutine of its own: a sender that
// reads nothing can block a write until the write deadline, and must not
// hold up the others.
func (in *inflight) check() {
	t := time.NewTicker(in.tick)
	defer t.Stop()
	for now := range t.C {
		in.mu.Lock()
		if in.armed == nil {
			in.checking = false
			in.mu.Unlock()
			return
		}
		for d := in.armed; d != nil; {
			next := d.next
			if !now.Before(d.due) {
				d.mu.Lock() // held until the answer is out
				if d.taken {
					d.mu.Unlock() // the handler is unlinking it
				} else {
					d.answered = true
					in.unlink(d)
					go in.answerLate(d)
				}
			}
			d = next
		}
		in.mu.Unlock()
	}
}

// answerLate writes d's answer, claimed by check with d.mu held, and
// counts its request among the orphans once the answer is out.
func (in *inflight) answerLate(d *watchdog) {
	in.answer(d)
	d.mu.Unlock()
	in.mu.Lock()
	in.orphans++
	in.checkQuiet()
	in.mu.Unlock()
}

// answerLate answers 503 for a consumer that has not returned grace after
// its hold ended.
func (h *webhookHandler) answerLate(d *watchdog) {
	err := errHoldExpired
	if h.stopping.Err() != nil {
		err = errStopping
	}
	// The connection cannot serve another request while the consumer
	// holds its goroutine.
	d.w.Header().Set("Connection", "close")
	h.answerFailed(d.w, d.r, d.hold, err)
	_ = http.NewResponseController(d.w).Flush()
}
