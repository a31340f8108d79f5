package cachemetrics // import "github.com/otelcol-flipt/otelcol-flipt/processor/cachemetrics"

import (
	"github.com/otelcol-flipt/otelcol-flipt/processor/cachemetrics/internal/marks"
)

// dedup remembers the spans that produced a count (or will, once inference
// decides them), so an export refused further down the pipeline and re-sent
// is not counted again. Only lookup spans are remembered, by the same 64-bit
// fingerprint of trace and span ID the inference uses. The memory is the
// process's: after a restart a re-sent export counts again. It is shared by
// all calls: read and written under the connector's lock only (apply).
type dedup struct {
	seen       *marks.Table[uint64]
	duplicates uint64 // lookup spans skipped (telemetry)
}

func newDedup(cfg Dedup) *dedup {
	if cfg.Window <= 0 {
		return nil
	}
	return &dedup{seen: marks.New[uint64](cfg.MaxEntries, int64(cfg.Window))}
}

// first records the span with fingerprint key and reports whether it is new
// within the window. A span without IDs (ided false) cannot be told from
// another, so it always counts.
func (d *dedup) first(key uint64, ided bool, now int64) bool {
	if d == nil || !ided || d.seen.Add(key, now) {
		return true
	}
	d.duplicates++
	return false
}

// expire forgets identities whose window is over; once per batch, so first
// finds no stale entry.
func (d *dedup) expire(now int64) {
	if d != nil {
		d.seen.Expire(now)
	}
}
