package fliptaudit

import (
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/consumer/consumererror"
)

// pipelineHealth remembers whether the last hand-off to the next consumer
// failed with a retryable error, for the health endpoint. A permanent
// error says nothing of the pipeline (the records were refused, not the
// pipeline down) and leaves the state as it was.
type pipelineHealth struct {
	failingSince atomic.Pointer[time.Time] // nil: the last hand-off succeeded (or none yet)
}

func (p *pipelineHealth) record(err error) {
	switch {
	case err == nil:
		// Read first: a store on every hand-off would contend for the
		// line between requests on other cores.
		if p.failingSince.Load() != nil {
			p.failingSince.Store(nil)
		}
	case !consumererror.IsPermanent(err):
		since := time.Now() // read, and escaping, only on this path
		p.failingSince.CompareAndSwap(nil, &since)
	}
}

// failing returns since when hand-offs have been refused, if they are.
func (p *pipelineHealth) failing() (time.Time, bool) {
	if p == nil {
		return time.Time{}, false
	}
	if t := p.failingSince.Load(); t != nil {
		return *t, true
	}
	return time.Time{}, false
}
