package auditfile

import (
	"context"
	"crypto/sha256"

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

// merger recognises copies of events written already. It is used only by
// the holder of the exporter's write slot, from staging a batch to
// committing the outcome of its write.
type merger struct {
	table   *merge.Table
	format  auditevent.Format
	tel     *metadata.TelemetryBuilder
	sets    [merge.Sources]metric.MeasurementOption
	scratch []byte
	merged  [merge.Sources]int64 // copies in the staged batch
}

func newMerger(cfg MergeConfig, format auditevent.Format, tel *metadata.TelemetryBuilder) *merger {
	m := &merger{table: merge.New(cfg.Window, cfg.MaxEntries, nil), format: format, tel: tel}
	for i, s := range sources {
		m.sets[i] = metric.WithAttributeSet(attribute.NewSet(attribute.String("source", s)))
	}
	return m
}

// begin starts a batch.
func (m *merger) begin(ctx context.Context) {
	m.merged = [merge.Sources]int64{}
	if n := m.table.Begin(); n > 0 {
		m.tel.AuditFileMergeEntries.Add(ctx, -int64(n))
	}
}

// keep is the encoder's hook: whether the line of lr is to be written.
func (m *merger) keep(lr plog.LogRecord, body pcommon.Map, line []byte) bool {
	src := sourceOf(lr)
	if src < 0 {
		return true
	}
	// The key is the event's bytes in Flipt's json encoding, whatever the
	// file's format: the same event from any source encodes the same.
	canonical := line
	if m.format != auditevent.FormatJSON {
		m.scratch = auditevent.Append(m.scratch[:0], body, auditevent.FormatJSON)
		canonical = m.scratch
	}
	if m.table.Arrive(sha256.Sum256(canonical), src) {
		return true
	}
	m.merged[src]++
	return false
}

// finish commits the batch if its write succeeded and discards it if not,
// so a retry is not taken for a copy.
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
