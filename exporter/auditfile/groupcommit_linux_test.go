//go:build linux

package auditfile

import (
	"context"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/otelcol-flipt/otelcol-flipt/exporter/auditfile/internal/metadatatest"
	"github.com/otelcol-flipt/otelcol-flipt/internal/auditevent"
	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
)

// limitFileSize lets no file of the process grow beyond limit bytes, as a
// full disk would (Go ignores SIGXFSZ, so writes stop with EFBIG), until
// the returned function (also run at cleanup) restores the limit.
func limitFileSize(t *testing.T, limit int64) (restore func()) {
	t.Helper()
	var old syscall.Rlimit
	require.NoError(t, syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old))
	limited := old
	limited.Cur = uint64(limit)
	require.NoError(t, syscall.Setrlimit(syscall.RLIMIT_FSIZE, &limited))
	restore = func() { require.NoError(t, syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old)) }
	t.Cleanup(func() { _ = syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old) })
	return restore
}

// A group that fails part-way (the disk fills: a file size limit stops the
// write with EFBIG) fails every caller in it with a retryable error and
// leaves no fragment; the group is decided by the merge as a whole, so the
// copy queued in it behind its original is not acknowledged either; every
// retry then lands once and the chain verifies.
func TestGroupCommitFailingGroupFailsEveryCaller(t *testing.T) {
	lines := fliptcapture.Lines(t, "audit.log")
	cfg := testConfig(t)
	cfg.HashChain = true
	h := newHold(2, 3)
	waits := make(chan struct{}, 16)
	exp, e, tt := build(t, cfg, newStatusHost(), func(e *auditFileExporter) {
		e.committing = h.committing
		e.waiting = func() { waits <- struct{}{} }
	})
	consume(t, exp, logsOf(t, auditevent.SourceWebhook, lines[0])) // group 1
	before := readFile(t, cfg.Path)

	// Group 2 is held before its write; four batches queue behind it: two
	// events, and a copy (from the traces) of the first of them.
	first := make(chan error, 1)
	go func() { first <- exp.ConsumeLogs(context.Background(), logsOf(t, auditevent.SourceWebhook, lines[1])) }()
	require.Equal(t, 1, <-h.reached[2])
	queued := []plog.Logs{
		logsOf(t, auditevent.SourceWebhook, lines[2]),
		logsOf(t, auditevent.SourceTrace, lines[2]), // the copy, in the same group as its original
		logsOf(t, auditevent.SourceWebhook, lines[3], lines[4]),
		logsOf(t, auditevent.SourceFile, lines[5]),
	}
	results := make(chan error, len(queued))
	for _, ld := range queued {
		go func() { results <- exp.ConsumeLogs(context.Background(), ld) }()
		<-waits // queued in order
	}
	close(h.hold[2])
	require.NoError(t, <-first)
	require.Equal(t, len(queued), <-h.reached[3], "the queued batches form one group")

	// The disk fills during group 3's write.
	room := max(len(readFile(t, cfg.Path)), len(readFile(t, ChainPath(cfg.Path)))+16)
	restore := limitFileSize(t, int64(room)+40)
	close(h.hold[3])
	for range queued {
		err := <-results
		require.ErrorIs(t, err, syscall.EFBIG, "the write stopped part-way")
		assert.False(t, consumererror.IsPermanent(err), "retryable: %v", err)
		assert.Contains(t, err.Error(), e.opts.Path)
	}
	restore()
	assert.Equal(t, before+string(lines[1])+"\n", readFile(t, cfg.Path), "no fragment of the failed group")
	require.NoError(t, VerifyChain(cfg.Path, ChainPath(cfg.Path)))

	// The retries (in another order) land once each; the copy is merged
	// now that its original is written.
	consume(t, exp, queued[3], queued[1], queued[0], queued[2])
	require.NoError(t, exp.Shutdown(context.Background()))
	assert.Equal(t, joinLines([][]byte{lines[0], lines[1], lines[5], lines[2], lines[3], lines[4]}), readFile(t, cfg.Path))
	require.NoError(t, VerifyChain(cfg.Path, ChainPath(cfg.Path)))
	metadatatest.AssertEqualAuditFileRecordsMerged(t, tt, []metricdata.DataPoint[int64]{merged("webhook", 1)}, ignore...)
}
