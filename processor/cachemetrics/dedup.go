package cachemetrics // import "github.com/otelcol-flipt/otelcol-flipt/processor/cachemetrics"

import (
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-flipt/otelcol-flipt/processor/cachemetrics/internal/marks"
)

// dedup remembers the spans that produced a count (or will, once inference
// decides them), so an export refused further down the pipeline and re-sent
// is not counted again. Only lookup spans are remembered, by the same 64-bit
// fingerprint of trace and span ID the inference uses. The memory is the
// process's: after a restart a re-sent export counts again.
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

// first records s and reports whether it is new within the window. A span
// without IDs cannot be told from another, so it always counts.
func (d *dedup) first(s ptrace.Span, now int64) bool {
	if d == nil {
		return true
	}
	tid, sid := s.TraceID(), s.SpanID()
	if tid.IsEmpty() || sid.IsEmpty() || d.seen.Add(fingerprint(tid, sid), now) {
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

// sighting is what examine knows about a span before inference reads it.
type sighting uint8

const (
	unchecked  sighting = iota // not looked up in the dedup table
	firstSight                 // its span events were lookups, new: recorded just now
	resent                     // its span events were lookups, seen within the window
	counted                    // the span itself was an attribute lookup: never an inference one
)
