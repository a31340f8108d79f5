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

// holdParent is the parent of a request's hold: the request's values, and
// the receiver's Shutdown for its end. Value answers from stopping first,
// where the context package looks for a parent to cancel its children, so
// that it files the hold among stopping's children at no cost per request
// instead of watching stopping from a goroutine or an AfterFunc. The
// request's own end is not inherited: linking to it would cost it a set of
// children and a channel per request; handOff watches it instead.
type holdParent struct {
	request  context.Context // for its values only
	stopping context.Context // derived from Background: no values of its own
}

func (p *holdParent) Deadline() (time.Time, bool) { return time.Time{}, false }
func (p *holdParent) Done() <-chan struct{}       { return p.stopping.Done() }
func (p *holdParent) Err() error                  { return p.stopping.Err() }

func (p *holdParent) Value(key any) any {
	if v := p.stopping.Value(key); v != nil {
		return v
	}
	return p.request.Value(key)
}

// handOff passes ld to the next consumer under ctx, whose deadline is the
// end of the hold, on one of runners, and returns its error. gone ends with
// the request (the sender went away): then ctx is cancelled, as a context
// derived from the request's would be. A consumer still busy grace after
// ctx ended is left to finish on its own, so that the sender gets its
// answer before the server's write deadline: the answer is then 503, the
// outcome unknown. done, when not nil, runs with the consumer's error when
// it returns, however late.
func handOff(ctx context.Context, cancel context.CancelFunc, gone <-chan struct{}, runners *handOffRunners,
	consume func(context.Context, plog.Logs) error, ld plog.Logs, grace time.Duration, done func(error),
) error {
	job := newHandOffJob(ctx, consume, ld, done)
	runners.start(job)
	select {
	case err := <-job.result:
		job.release()
		return err
	case <-ctx.Done():
	case <-gone:
		cancel()
	}
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case err := <-job.result:
		job.release()
		return err
	case <-t.C:
		if errors.Is(context.Cause(ctx), errStopping) {
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
