package fliptaudit

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
)

// Errors a hand-off ends with when the next consumer did not answer in
// time; both are retryable (503).
var (
	errHoldExpired = errors.New("the next consumer did not return before the hold ended")
	errStopping    = errors.New("the receiver is shutting down")
)

// holdCtx is a request's hold, the context the next consumer gets: the
// request's values, a deadline at the end of the hold, and an end at the
// deadline, at Shutdown (stopping) or when the sender goes away (seen by
// handOff over HTTP/2, by the hold itself with followRequest).
// context.WithTimeout cost a timer, two cancel contexts, a channel and an
// entry among stopping's children per request, under stopping's lock;
// here a hold pays for a timer and its watches only when something watches
// it (Done or a derived context: admission's wait, or a consumer's), and
// handOff waits on a pooled timer and stopping's own channel. Err and Cause
// read as a timerCtx's would: DeadlineExceeded past the deadline, Canceled
// after the sender went away or at Shutdown, whose cause is errStopping.
type holdCtx struct {
	request  context.Context // for its values, and its end with followRequest
	stopping context.Context // derived from Background: no values of its own
	deadline time.Time

	mu    sync.Mutex
	err   error
	done  chan struct{} // made by the first Done
	armed bool          // timer and watch started, for a Done or an AfterFunc
	timer *time.Timer
	watch func() bool // stops the watch of stopping
	// follow: the hold also ends with its request, once armed (handOff
	// watches the request itself).
	follow bool
	gone   func() bool // stops the watch of the request
	after  []*func()   // AfterFunc's callbacks still to run; nil once ended
}

func newHold(request, stopping context.Context, hold time.Duration) *holdCtx {
	return &holdCtx{request: request, stopping: stopping, deadline: time.Now().Add(hold)}
}

func (h *holdCtx) Deadline() (time.Time, bool) { return h.deadline, true }

func (h *holdCtx) Done() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.done == nil {
		h.done = make(chan struct{})
		if h.err != nil {
			close(h.done)
		} else {
			h.arm()
		}
	}
	return h.done
}

// Err is also right while nothing is armed: it reads the clock and
// stopping itself.
func (h *holdCtx) Err() error {
	h.mu.Lock()
	err := h.err
	h.mu.Unlock()
	if err != nil {
		return err
	}
	switch {
	case h.stopping.Err() != nil:
		h.end(context.Canceled)
	case !time.Now().Before(h.deadline):
		h.end(context.DeadlineExceeded)
	default:
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.err
}

// Value answers from stopping first: context.Cause finds stopping's
// cancel context there, and with it errStopping once the receiver stops.
func (h *holdCtx) Value(key any) any {
	if v := h.stopping.Value(key); v != nil {
		return v
	}
	return h.request.Value(key)
}

// AfterFunc runs f on a goroutine of its own once the hold ends; the
// context package uses it to tie a derived context to the hold instead of
// a goroutine per derived context.
func (h *holdCtx) AfterFunc(f func()) (stop func() bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err != nil {
		go f()
		return func() bool { return false }
	}
	h.arm()
	entry := &f
	h.after = append(h.after, entry)
	return func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		for i, e := range h.after {
			if e == entry {
				h.after = append(h.after[:i], h.after[i+1:]...)
				return true
			}
		}
		return false
	}
}

// arm starts what ends the hold on its own, for those watching it but
// handOff: a timer for the deadline, a watch of stopping. Called with
// h.mu held.
func (h *holdCtx) arm() {
	if h.armed {
		return
	}
	h.armed = true
	h.timer = time.AfterFunc(time.Until(h.deadline), func() { h.end(context.DeadlineExceeded) })
	h.watch = context.AfterFunc(h.stopping, func() { h.end(context.Canceled) })
	if h.follow {
		h.gone = context.AfterFunc(h.request, h.cancel)
	}
}

// followRequest has the hold end when its request does (the sender went
// away), for a consumer that runs on the request's goroutine; before
// anything watches the hold.
func (h *holdCtx) followRequest() { h.follow = true }

// end ends the hold with err, unless it already ended.
func (h *holdCtx) end(err error) {
	h.mu.Lock()
	if h.err != nil {
		h.mu.Unlock()
		return
	}
	h.err = err
	if h.done != nil {
		close(h.done)
	}
	after := h.after
	h.after = nil
	if h.armed {
		h.timer.Stop()
		h.watch()
		if h.gone != nil {
			h.gone()
		}
	}
	h.mu.Unlock()
	for _, f := range after {
		go (*f)()
	}
}

// cancel ends the hold as the end of its request does.
func (h *holdCtx) cancel() { h.end(context.Canceled) }

// holdTimers are the timers handOff waits on, reused: with Go 1.23's
// timers a Stop or Reset leaves no stale tick in the channel.
var holdTimers sync.Pool

func startHoldTimer(d time.Duration) *time.Timer {
	if t, ok := holdTimers.Get().(*time.Timer); ok {
		t.Reset(d)
		return t
	}
	return time.NewTimer(d)
}

func releaseHoldTimer(t *time.Timer) {
	if !t.Stop() {
		// Nothing to drain with Go 1.23's timers; a build under the old
		// asynctimerchan could hold a tick here.
		select {
		case <-t.C:
		default:
		}
	}
	holdTimers.Put(t)
}

// handOff passes ld to the next consumer under hold, on one of runners,
// and returns its error. The hold ends at its deadline, at Shutdown, or
// when gone ends with the request (the sender went away): then the hold
// is cancelled, as a context derived from the request's would be. A
// consumer still busy grace after the hold ended is left to finish on its
// own, so that the sender gets its answer before the server's write
// deadline: the answer is then 503, the outcome unknown. done, when not
// nil, runs with the consumer's error when it returns, however late.
func handOff(hold *holdCtx, gone <-chan struct{}, runners *handOffRunners,
	consume func(context.Context, plog.Logs) error, ld plog.Logs, grace time.Duration, done func(error),
) error {
	job := newHandOffJob(hold, consume, ld, done)
	runners.start(job)
	t := startHoldTimer(time.Until(hold.deadline))
	defer releaseHoldTimer(t)
	select {
	case err := <-job.result:
		job.release()
		return err
	case <-t.C:
		hold.end(context.DeadlineExceeded)
	case <-hold.stopping.Done():
		hold.end(context.Canceled)
	case <-gone:
		hold.cancel()
	}
	t.Reset(grace)
	select {
	case err := <-job.result:
		job.release()
		return err
	case <-t.C:
		if errors.Is(context.Cause(hold), errStopping) {
			return errStopping
		}
		return errHoldExpired
	}
}

// handOffJob is one hand-off to the next consumer.
type handOffJob struct {
	ctx     context.Context
	consume func(context.Context, plog.Logs) error
	ld      plog.Logs
	done    func(error)
	result  chan error // buffered: the runner never waits on a handler gone
}

// handOffJobs keeps jobs, with their channels, between hand-offs: two
// allocations fewer per request. Only a job whose result its handler
// received goes back: its runner is done with it (the send is its last
// use), and its channel is empty. A job whose handler stopped waiting is
// left to the collector.
var handOffJobs = sync.Pool{New: func() any { return &handOffJob{result: make(chan error, 1)} }}

func newHandOffJob(ctx context.Context, consume func(context.Context, plog.Logs) error, ld plog.Logs, done func(error)) *handOffJob {
	j := handOffJobs.Get().(*handOffJob)
	j.ctx, j.consume, j.ld, j.done = ctx, consume, ld, done
	return j
}

// release returns j to handOffJobs once its result was received.
func (j *handOffJob) release() {
	*j = handOffJob{result: j.result}
	handOffJobs.Put(j)
}

func (j *handOffJob) run() {
	err := j.consume(j.ctx, j.ld)
	if j.done != nil {
		j.done(err)
	}
	j.result <- err
}

// handOffRunners are goroutines kept between hand-offs. A goroutine per
// request grew its stack through the pipeline's calls every time, which
// cost more than the rest of the hand-off. There are never more than the
// hand-offs that ever ran at once; idle ones end at stop.
type handOffRunners struct {
	jobs     chan *handOffJob // unbuffered: a send reaches an idle runner or none
	quit     chan struct{}
	stopOnce sync.Once
}

func newHandOffRunners() *handOffRunners {
	return &handOffRunners{jobs: make(chan *handOffJob), quit: make(chan struct{})}
}

// start runs job on an idle runner, or a new one; nil runners run each job
// on a goroutine of its own.
func (p *handOffRunners) start(job *handOffJob) {
	if p == nil {
		go job.run()
		return
	}
	select {
	case p.jobs <- job:
	default:
		go p.run(job)
	}
}

func (p *handOffRunners) run(job *handOffJob) {
	for {
		job.run()
		select {
		case job = <-p.jobs:
		case <-p.quit:
			return
		}
	}
}

// stop ends the idle runners, and each busy one once its job returns.
// Shutdown can stop them again after a failed Start.
func (p *handOffRunners) stop() {
	if p != nil {
		p.stopOnce.Do(func() { close(p.quit) })
	}
}
