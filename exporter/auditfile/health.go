package auditfile

import (
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
)

// health reports the file's state as component status, so a health check
// that watches component status (healthcheckv2) shows a failing audit file:
// a recoverable error while opens or writes fail, OK once a write succeeds.
// Only changes are reported, so the time of the first failure is kept.
type health struct {
	mu      sync.Mutex
	host    component.Host
	failing bool
}

func (h *health) start(host component.Host) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.host, h.failing = host, false
}

// settle records the outcome of a write and, under the same lock, hands it
// to the callers waiting for it (deliver, if any), so a caller that stopped
// waiting cannot report a failure after the write has reported its success.
func (h *health) settle(err error, deliver func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.reportLocked(err)
	if deliver != nil {
		deliver()
	}
}

// handOver hands an outcome that is no write's (only copies, nothing
// written) to the callers waiting for it, under the lock stalled takes.
func (h *health) handOver(deliver func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	deliver()
}

// stalled reports err for a write that has not returned by its deadline. If
// it returned meanwhile, its outcome is given instead (done is true).
func (h *health) stalled(err error, result <-chan error) (done bool, outcome error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	select {
	case outcome = <-result:
		return true, outcome
	default:
	}
	h.reportLocked(err)
	return false, nil
}

func (h *health) isFailing() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.failing
}

func (h *health) reportLocked(err error) {
	if h.host == nil || (err != nil) == h.failing {
		return
	}
	h.failing = err != nil
	if err != nil {
		componentstatus.ReportStatus(h.host, componentstatus.NewRecoverableErrorEvent(err))
	} else {
		componentstatus.ReportStatus(h.host, componentstatus.NewEvent(componentstatus.StatusOK))
	}
}
