package loadgen

import (
	"slices"
	"sync"
	"time"
)

// Latency holds request latency percentiles in milliseconds.
type Latency struct {
	P50 float64 `json:"p50_ms"`
	P90 float64 `json:"p90_ms"`
	P99 float64 `json:"p99_ms"`
	Max float64 `json:"max_ms"`
}

// recorder collects per-request outcomes from many workers.
type recorder struct {
	mu        sync.Mutex
	latencies []time.Duration
	requests  int
	sent      int
	acked     int
	errors    int
	refused   map[int]int
	unacked   []int
}

func newRecorder() *recorder { return &recorder{refused: map[int]int{}} }

// record notes one request of the events [from, to): its final status (0
// for a transport error) and its latency including retries.
func (r *recorder) record(from, to, status int, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests++
	r.sent += to - from
	r.latencies = append(r.latencies, d)
	if status >= 200 && status < 300 {
		r.acked += to - from
		return
	}
	if status == 0 {
		r.errors++
	} else {
		r.refused[status]++
	}
	for seq := from; seq < to; seq++ {
		r.unacked = append(r.unacked, seq)
	}
}

func (r *recorder) latency() Latency {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.latencies) == 0 {
		return Latency{}
	}
	s := slices.Clone(r.latencies)
	slices.Sort(s)
	at := func(q float64) float64 {
		i := int(q * float64(len(s)-1))
		return float64(s[i]) / float64(time.Millisecond)
	}
	return Latency{P50: at(0.50), P90: at(0.90), P99: at(0.99), Max: float64(s[len(s)-1]) / float64(time.Millisecond)}
}
