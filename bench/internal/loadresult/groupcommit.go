package loadresult

// GroupCommit is what bench/e2e's TestGroupCommitGain writes: pairs of
// runs of the binary of the commit before audit_file's group commit and of
// this tree's, on the default pipeline, alternating.
type GroupCommit struct {
	Base    string  `json:"base_commit"`
	Seconds float64 `json:"seconds_per_run"`
	Pairs   []Pair  `json:"pairs"`
}

// Pair is one run of each binary under each load.
type Pair struct {
	Before Side `json:"before"`
	After  Side `json:"after"`
}

// Side is one binary's runs in a pair: 64 signed single-event webhook
// senders flat out, and 16 of them paced to 1,000 events/s.
type Side struct {
	Flat  Run `json:"flat_out_64"`
	Paced Run `json:"paced_16_at_1000"`
}

// Run is one load run's acknowledged rate and latency, and the audit
// file's check of it.
type Run struct {
	EventsPerSec float64     `json:"acked_events_per_s"`
	P50ms        float64     `json:"p50_ms"`
	P99ms        float64     `json:"p99_ms"`
	Sent         int         `json:"events_sent"`
	Acked        int         `json:"events_acked"`
	Refused      map[int]int `json:"refused_requests_by_status,omitempty"`
	Lost         int         `json:"lost"`
	Duplicated   int         `json:"duplicated"`
}

// ReadGroupCommit reads a GroupCommit written to path.
func ReadGroupCommit(path string) (*GroupCommit, error) { return readJSON[GroupCommit](path) }
