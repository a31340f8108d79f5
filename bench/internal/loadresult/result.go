// Package loadresult is the record of one end-to-end load run: what
// bench/e2e's TestLoadDefaultPipeline writes to FLIPT_LOAD_REPORT and
// bench/report reads back into BENCHMARKS.md.
package loadresult

import (
	"encoding/json"
	"os"

	"github.com/otelcol-flipt/otelcol-flipt/internal/loadgen"
)

// Result is one load run's figures.
type Result struct {
	RateTarget float64 `json:"rate_target_events_per_s"`
	// RateAchieved is the acknowledged events/s of both streams together;
	// TargetReached says whether it came close enough to RateTarget
	// (always true flat out, RateTarget 0).
	RateAchieved  float64        `json:"rate_achieved_events_per_s"`
	TargetReached bool           `json:"target_reached"`
	Senders       int            `json:"webhook_senders"`
	Scale         int            `json:"scale"`
	DurationS     float64        `json:"duration_s"`
	Webhook       loadgen.Report `json:"webhook"`
	OTLP          loadgen.Report `json:"otlp_http"`
	WebhookTally  loadgen.Tally  `json:"webhook_at_audit_file"`
	OTLPTally     loadgen.Tally  `json:"otlp_at_audit_file"`
	PeakRSSMiB    float64        `json:"peak_rss_mib"`
	CPUSeconds    float64        `json:"cpu_s"`
	CPUMsPer1k    float64        `json:"cpu_ms_per_1k_events"`
}

// Read reads a Result written to path.
func Read(path string) (*Result, error) { return readJSON[Result](path) }

// readJSON reads the JSON record of a T written to path.
func readJSON[T any](path string) (*T, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// Lost counts acknowledged events missing from the audit file: missing ones
// the collector never acknowledged are refusals, not losses.
func (r *Result) Lost() int {
	n := 0
	for _, t := range []struct {
		tally loadgen.Tally
		rep   loadgen.Report
	}{{r.WebhookTally, r.Webhook}, {r.OTLPTally, r.OTLP}} {
		n += len(t.tally.Missing) - (t.rep.Sent - t.rep.Acked)
	}
	return max(n, 0)
}

// Duplicated counts events written more than once.
func (r *Result) Duplicated() int {
	return len(r.WebhookTally.Duplicates) + len(r.OTLPTally.Duplicates)
}
