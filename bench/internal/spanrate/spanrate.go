// Package spanrate times the connector benchmarks and reports their rates
// per span.
//
// The benchmarks renew their batches' trace IDs between calls (a batch seen
// twice is a re-send the connectors skip). That setup is timed with the
// clock and subtracted rather than left out with b.StopTimer: StopTimer and
// StartTimer read the runtime's memory statistics, which stops the world and
// wakes the other threads on every call, and paid around every few batches
// that disturbs the timed calls after it far more than a clock read does.
// -spanrate.stoptimer brings the StopTimer way back, to compare.
package spanrate

import (
	"flag"
	"testing"
	"time"
)

var stopTimer = flag.Bool("spanrate.stoptimer", false, "leave the benchmarks' setup out with b.StopTimer instead of timing and subtracting it")

// Setup is the time a benchmark spent on setup inside its timed loop.
type Setup struct {
	b  *testing.B
	d  time.Duration
	t0 time.Time
}

// NewSetup starts with no setup time; call it after any warm-up.
func NewSetup(b *testing.B) *Setup { return &Setup{b: b} }

// Begin starts a setup step.
func (s *Setup) Begin() {
	if *stopTimer {
		s.b.StopTimer()
		return
	}
	s.t0 = time.Now()
}

// End ends the setup step Begin started.
func (s *Setup) End() {
	if *stopTimer {
		s.b.StartTimer()
		return
	}
	s.d += time.Since(s.t0)
}

// Report reports spans/s and ns/span for b.N batches of spansPerBatch spans
// on average, over the elapsed time less the setup.
func (s *Setup) Report(spansPerBatch float64) {
	el := s.b.Elapsed() - s.d
	s.b.ReportMetric(spansPerBatch*float64(s.b.N)/el.Seconds(), "spans/s")
	s.b.ReportMetric(float64(el.Nanoseconds())/(spansPerBatch*float64(s.b.N)), "ns/span")
}
