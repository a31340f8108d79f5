package auditfile

import (
	"context"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/otelcol-flipt/otelcol-flipt/exporter/auditfile/internal/merge"
	"github.com/otelcol-flipt/otelcol-flipt/exporter/auditfile/internal/metadata"
	"github.com/otelcol-flipt/otelcol-flipt/internal/auditevent"
)

// sources are the values of auditevent.AttrSource the merge tells apart, by
// their index in the table. Records with another or no source are written
// as they come.
var sources = [merge.Sources]string{auditevent.SourceWebhook, auditevent.SourceFile, auditevent.SourceTrace}

// merger recognises copies of events written already. Its decisions are made
// by the committer alone (see groupcommit.go), for a whole group in the order
// its batches were enqueued, and committed or discarded with the outcome of
// the group's write: a copy is never acknowledged while the write of its
// original can still fail, and a batch that was not written leaves no count.
type merger struct {
	table  *merge.Table
	tel    *metadata.TelemetryBuilder
	sets   [merge.Sources]metric.MeasurementOption
	merged [merge.Sources]int64 // copies in the group being decided
}

// span is a line of an encoded batch the merge decides on: buf[start:end],
// newline included, an audit event from source src.
type span struct {
	start, end int
	src        int
	key        merge.Key
	cut        bool // a copy: not written (set by decide)
}

func newMerger(cfg MergeConfig, tel *metadata.TelemetryBuilder) *merger {
	m := &merger{table: merge.New(cfg.Window, cfg.MaxEntries, nil), tel: tel}
	for i, s := range sources {
		m.sets[i] = metric.WithAttributeSet(attribute.NewSet(attribute.String("source", s)))
	}
	return m
}

// keys hashes lines into merge keys. One per process: keys are compared
// only within the process that made them.
var keys = merge.NewHasher()

// keyOf is the merge key of an audit event whose line in format is line.
// It runs in the caller's goroutine, so hashing is not serialized.
func (b *batch) keyOf(body pcommon.Map, line []byte, format auditevent.Format) merge.Key {
	// The key is the event's bytes in Flipt's json encoding, whatever the
	// file's format: the same event from any source encodes the same.
	canonical := line
	if format != auditevent.FormatJSON {
		b.scratch = auditevent.Append(b.scratch[:0], body, auditevent.FormatJSON)
		canonical = b.scratch
	}
	return keys.Key(canonical)
}

// begin starts a group.
func (m *merger) begin(ctx context.Context) {
	m.merged = [merge.Sources]int64{}
	if n := m.table.Begin(); n > 0 {
		m.tel.AuditFileMergeEntries.Add(ctx, -int64(n))
	}
}

// decide marks the lines of b that are not to be written: the copies of
// events written already or earlier in the group. It returns the number of
// lines left to write and their bytes.
func (m *merger) decide(b *batch) (lines, size int) {
	lines, size = b.lines, len(b.buf)
	for i := range b.spans {
		sp := &b.spans[i]
		sp.cut = !m.table.Arrive(sp.key, sp.src)
		if sp.cut {
			m.merged[sp.src]++
			lines--
			size -= sp.end - sp.start
		}
	}
	return lines, size
}

// appendKept appends to dst the lines of b that decide left to write.
func (b *batch) appendKept(dst []byte) []byte {
	from := 0
	for _, sp := range b.spans {
		if sp.cut {
			dst = append(dst, b.buf[from:sp.start]...)
			from = sp.end
		}
	}
	return append(dst, b.buf[from:]...)
}

// finish commits the group's decisions if its write succeeded and discards
// them if not, so a retry is not taken for a copy.
func (m *merger) finish(ctx context.Context, written bool) {
	if !written {
		m.table.Rollback()
		return
	}
	added, evicted := m.table.Commit()
	if d := added - evicted; d != 0 {
		m.tel.AuditFileMergeEntries.Add(ctx, int64(d))
	}
	if evicted > 0 {
		m.tel.AuditFileMergeEvictions.Add(ctx, int64(evicted))
	}
	for i, n := range m.merged {
		if n > 0 {
			m.tel.AuditFileRecordsMerged.Add(ctx, n, m.sets[i])
		}
	}
}

func sourceOf(lr plog.LogRecord) int {
	v, ok := lr.Attributes().Get(auditevent.AttrSource)
	if !ok || v.Type() != pcommon.ValueTypeStr {
		return -1
	}
	for i, s := range sources {
		if v.Str() == s {
			return i
		}
	}
	return -1
}
