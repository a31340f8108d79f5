package auditfile

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/otelcol-flipt/otelcol-flipt/exporter/auditfile/internal/metadatatest"
	"github.com/otelcol-flipt/otelcol-flipt/internal/auditevent"
	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
)

// The short path of an idle file writes what the committer writes: the same
// file, byte for byte, and the same counts, with copies to merge and more
// than the memory buffer holds (so flushes and the fallback to the committer
// run too).
func TestInlineWriteEqualsCommitter(t *testing.T) {
	web, _ := webhookBatches(t)
	trace := records(traceBatches(t)...)
	var round []plog.Logs
	round = append(round, interleave(web, trace)...)
	round = append(round, auditLogBatch(t))
	var batches []plog.Logs
	for range 20 {
		batches = append(batches, round...)
	}
	for _, fsync := range []string{"never", "on_flush"} {
		t.Run(fsync, func(t *testing.T) {
			run := func(inline bool) (string, *componenttest.Telemetry) {
				cfg := testConfig(t)
				cfg.Fsync = fsync
				exp, e, tt := build(t, cfg, componenttest.NewNopHost(), nil)
				require.True(t, e.inline)
				e.inline = inline
				consume(t, exp, batches...)
				require.NoError(t, exp.Shutdown(context.Background()))
				return readFile(t, cfg.Path), tt
			}
			short, shortTel := run(true)
			plain, plainTel := run(false)
			require.Greater(t, len(plain), 256<<10, "more than the buffer holds")
			assert.Equal(t, plain, short)
			for _, name := range []string{
				"otelcol_audit_file_records_written", "otelcol_audit_file_bytes_written",
				"otelcol_audit_file_records_merged", "otelcol_audit_file_merge_entries",
				"otelcol_audit_file_commit_batches",
			} {
				want, err := plainTel.GetMetric(name)
				require.NoError(t, err, name)
				got, err := shortTel.GetMetric(name)
				require.NoError(t, err, name)
				metricdatatest.AssertEqual(t, want, got, ignore...)
			}
		})
	}
}

// The short path is taken only while nothing else holds the file, and when
// it is not taken nothing has changed, the merge's decisions included: the
// batch is then decided and written by the committer as if the short path
// did not exist.
func TestInlineOnlyWhenIdle(t *testing.T) {
	cfg := testConfig(t)
	cfg.Fsync = "never"
	exp, e, tt := build(t, cfg, componenttest.NewNopHost(), nil)
	lines := fliptcapture.Lines(t, "audit.log")
	encoded := func(source string) *batch {
		b := &batch{done: make(chan error, 1)}
		e.enc.appendLogs(b, logsOf(t, source, lines...))
		return b
	}
	require.True(t, e.writeInline(encoded(auditevent.SourceFile)), "an idle file")

	require.True(t, e.gc.claim()) // a batch on the short path already
	assert.False(t, e.writeInline(encoded(auditevent.SourceFile)))
	e.gc.release()
	e.writing.Lock() // the probe
	assert.False(t, e.writeInline(encoded(auditevent.SourceFile)))
	e.writing.Unlock()
	// Decided (a repeat from its source: to be written), then refused: more
	// than the buffer holds (the padding is never written).
	b := encoded(auditevent.SourceFile)
	b.buf = append(b.buf, make([]byte, 256<<10)...)
	assert.False(t, e.writeInline(b), "the buffer would have to be written")

	// The webhook's copies arrive twice. The first are copies; the second
	// outnumber the file's only if the refused repeat left no count.
	web, _ := webhookBatches(t)
	consume(t, exp, web...)
	consume(t, exp, web...)
	require.NoError(t, exp.Shutdown(context.Background()))
	assert.Equal(t, joinLines(lines)+joinLines(lines), readFile(t, cfg.Path))
	metadatatest.AssertEqualAuditFileRecordsWritten(t, tt, []metricdata.DataPoint[int64]{{Value: 106}}, ignore...)
	metadatatest.AssertEqualAuditFileRecordsMerged(t, tt, []metricdata.DataPoint[int64]{merged("webhook", 53)}, ignore...)

	cfg = testConfig(t) // fsync every_batch: every batch goes to the committer
	_, e, _ = build(t, cfg, componenttest.NewNopHost(), nil)
	assert.False(t, e.inline)
}
