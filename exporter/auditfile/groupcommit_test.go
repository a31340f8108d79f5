package auditfile

import (
	"context"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/otelcol-flipt/otelcol-flipt/exporter/auditfile/internal/metadatatest"
	"github.com/otelcol-flipt/otelcol-flipt/internal/auditevent"
	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
	"github.com/otelcol-flipt/otelcol-flipt/internal/loadgen"
)

// event is single-event batch seq of run, as the webhook receiver hands on.
func event(t testing.TB, run string, seq int) plog.Logs {
	return logsOf(t, auditevent.SourceWebhook, loadgen.WebhookEvent(run, seq, 1, time.Unix(1_700_000_000, 0).UTC()))
}

// sendConcurrently has senders goroutines each send perSender single-event
// batches in turn (sender s sends seqs s*perSender to (s+1)*perSender-1, in
// order) and returns the errors.
func sendConcurrently(t *testing.T, send func(plog.Logs) error, run string, senders, perSender int) []error {
	t.Helper()
	batches := make([]plog.Logs, senders*perSender)
	for i := range batches {
		batches[i] = event(t, run, i)
	}
	errs := make([]error, len(batches))
	var wg sync.WaitGroup
	for s := range senders {
		wg.Go(func() {
			for i := s * perSender; i < (s+1)*perSender; i++ {
				errs[i] = send(batches[i])
			}
		})
	}
	wg.Wait()
	return errs
}

// inSenderOrder checks that every sender's events are in the file in the
// order it sent them (file order is enqueue order).
func inSenderOrder(t *testing.T, data []byte, run string, perSender int) {
	t.Helper()
	last := map[int]int{}
	for _, k := range loadgen.KeysIn(data, run) {
		seq, err := strconv.Atoi(strings.TrimPrefix(k, "lg-"+run+"-"))
		require.NoError(t, err)
		s := seq / perSender
		if prev, ok := last[s]; ok {
			require.Greater(t, seq, prev, "sender %d: event %d after %d", s, seq, prev)
		}
		last[s] = seq
	}
}

func allData(t *testing.T, path string) []byte {
	var data []byte
	for _, p := range allFiles(t, path) {
		data = append(data, readFile(t, p)...)
	}
	return data
}

// groupCommits is the number of writes (fsyncs, with every_batch) and the
// batches they carried.
func groupCommits(t *testing.T, tt *componenttest.Telemetry) (writes, batches int64) {
	t.Helper()
	m, err := tt.GetMetric("otelcol_audit_file_commit_batches")
	require.NoError(t, err)
	for _, dp := range m.Data.(metricdata.Histogram[int64]).DataPoints {
		writes += int64(dp.Count)
		batches += dp.Sum
	}
	return writes, batches
}

// 64 concurrent senders of single-event batches, fsync every_batch and the
// hash chain on: every acknowledged event is in the file once, each sender's
// in its order, the chain verifies, and the batches shared fsyncs: fewer
// writes than batches.
func TestGroupCommitManyWriters(t *testing.T) {
	const senders, perSender = 64, 200
	cfg := testConfig(t)
	cfg.HashChain = true
	exp, tt := started(t, cfg)
	errs := sendConcurrently(t, func(ld plog.Logs) error { return exp.ConsumeLogs(context.Background(), ld) },
		"many", senders, perSender)
	for _, err := range errs {
		require.NoError(t, err)
	}
	require.NoError(t, exp.Shutdown(context.Background()))

	data := allData(t, cfg.Path)
	tally := loadgen.Verify(data, "many", senders*perSender)
	require.True(t, tally.OK(), "%s", tally)
	inSenderOrder(t, data, "many", perSender)
	require.NoError(t, VerifyChain(cfg.Path, ChainPath(cfg.Path)))
	writes, batches := groupCommits(t, tt)
	assert.Equal(t, int64(senders*perSender), batches, "every batch in exactly one group")
	assert.Less(t, writes, batches, "concurrent batches share writes and fsyncs")
	t.Logf("%d batches in %d writes (%.1f per fsync)", batches, writes, float64(batches)/float64(writes))
	metadatatest.AssertEqualAuditFileRecordsWritten(t, tt, []metricdata.DataPoint[int64]{{Value: senders * perSender}}, ignore...)
}

// holdCommitter holds the committer before the write of group n (1-based)
// until release is closed, and reports each group's size on sizes.
type holdCommitter struct {
	mu      sync.Mutex
	groups  int
	hold    map[int]chan struct{} // group number -> released when closed
	reached map[int]chan int      // group number -> gets its size once reached
}

func newHold(groups ...int) *holdCommitter {
	h := &holdCommitter{hold: map[int]chan struct{}{}, reached: map[int]chan int{}}
	for _, g := range groups {
		h.hold[g], h.reached[g] = make(chan struct{}), make(chan int, 1)
	}
	return h
}

func (h *holdCommitter) committing(batches int) {
	h.mu.Lock()
	h.groups++
	release, reached := h.hold[h.groups], h.reached[h.groups]
	h.mu.Unlock()
	if release != nil {
		reached <- batches
		<-release
	}
}

// A copy enqueued behind a group that holds its original is decided only
// once that group's outcome is known: when the group fails, the copy is
// written by the next group (it is the first to reach the file) and the
// original's retry is merged; when the group succeeds, the copy is merged.
func TestGroupCommitCopyBehindItsOriginal(t *testing.T) {
	line := fliptcapture.Lines(t, "audit.log")[7]
	for _, fail := range []bool{true, false} {
		t.Run(map[bool]string{true: "original fails", false: "original written"}[fail], func(t *testing.T) {
			cfg := testConfig(t)
			h := newHold(1, 2)
			waits := make(chan struct{}, 1)
			exp, _, tt := build(t, cfg, newStatusHost(), func(e *auditFileExporter) {
				e.committing = h.committing
				e.waiting = func() { waits <- struct{}{} }
			})
			original := make(chan error, 1)
			go func() { original <- exp.ConsumeLogs(context.Background(), logsOf(t, auditevent.SourceWebhook, line)) }()
			<-h.reached[1]
			cp := make(chan error, 1)
			go func() { cp <- exp.ConsumeLogs(context.Background(), logsOf(t, auditevent.SourceTrace, line)) }()
			<-waits
			if fail {
				require.NoError(t, os.Rename(cfg.Path, cfg.Path+".moved"))
				require.NoError(t, os.MkdirAll(cfg.Path, 0o700)) // a directory swapped in
			}
			close(h.hold[1])
			if fail {
				require.Error(t, <-original)
				require.NoError(t, os.Remove(cfg.Path)) // fixed before the copy's group writes
				require.Equal(t, 1, <-h.reached[2], "the copy is written, not merged")
			} else {
				require.NoError(t, <-original) // the copy's group writes nothing
			}
			close(h.hold[2])
			require.NoError(t, <-cp)
			if fail {
				consume(t, exp, logsOf(t, auditevent.SourceWebhook, line)) // the original's retry: merged
			}
			require.NoError(t, exp.Shutdown(context.Background()))
			assert.Equal(t, joinLines([][]byte{line}), readFile(t, cfg.Path), "once")
			copySource := map[bool]string{true: "webhook", false: "trace"}[fail]
			metadatatest.AssertEqualAuditFileRecordsMerged(t, tt, []metricdata.DataPoint[int64]{merged(copySource, 1)}, ignore...)
		})
	}
}

// Size rotation under concurrency: groups never straddle two files (every
// file ends in a whole line and no file but one holding a single batch
// exceeds the limit), every event is once across the files in each sender's
// order, and the chain links and verifies every segment.
func TestGroupCommitRotationUnderConcurrency(t *testing.T) {
	const senders, perSender, maxBytes = 16, 100, 16 << 10
	cfg := testConfig(t)
	cfg.HashChain = true
	exp, _, tt := build(t, cfg, newStatusHost(), func(e *auditFileExporter) { e.opts.MaxBytes = maxBytes })
	errs := sendConcurrently(t, func(ld plog.Logs) error { return exp.ConsumeLogs(context.Background(), ld) },
		"rot", senders, perSender)
	for _, err := range errs {
		require.NoError(t, err)
	}
	require.NoError(t, exp.Shutdown(context.Background()))

	files := allFiles(t, cfg.Path)
	require.Greater(t, len(files), 3, "rotated several times")
	for _, p := range files {
		data := readFile(t, p)
		assert.True(t, strings.HasSuffix(data, "\n"), "%s ends in a whole line", p)
		assert.LessOrEqual(t, len(data), maxBytes, "%s", p)
	}
	data := allData(t, cfg.Path)
	tally := loadgen.Verify(data, "rot", senders*perSender)
	require.True(t, tally.OK(), "%s", tally)
	inSenderOrder(t, data, "rot", perSender)
	require.NoError(t, VerifyRotated(cfg.Path))
	_, batches := groupCommits(t, tt)
	assert.Equal(t, int64(senders*perSender), batches)
}

// A caller whose batch is still queued when its timeout ends gets "not
// written" and its batch is dropped from the queue; one whose group is being
// written gets "may still reach the file"; neither holds up the committer,
// which writes the next group as soon as the held one returns.
func TestGroupCommitTimeouts(t *testing.T) {
	lines := fliptcapture.Lines(t, "audit.log")
	cfg := testConfig(t)
	h := newHold(1)
	waits := make(chan struct{}, 1)
	exp, _, tt := build(t, cfg, newStatusHost(), func(e *auditFileExporter) {
		e.committing = h.committing
		e.waiting = func() { waits <- struct{}{} }
	})
	ctx, cancel := context.WithCancel(context.Background())
	inFlight := make(chan error, 1)
	go func() { inFlight <- exp.ConsumeLogs(ctx, logsOf(t, auditevent.SourceWebhook, lines[0])) }()
	<-h.reached[1]
	queued := make(chan error, 1)
	go func() { queued <- exp.ConsumeLogs(ctx, logsOf(t, auditevent.SourceWebhook, lines[1])) }()
	<-waits
	cancel()
	err := <-inFlight
	require.ErrorIs(t, err, context.Canceled)
	assert.Contains(t, err.Error(), "the batch may still reach the file")
	err = <-queued
	require.ErrorIs(t, err, context.Canceled)
	assert.Contains(t, err.Error(), "the batch was not written")

	close(h.hold[1])
	consume(t, exp, logsOf(t, auditevent.SourceWebhook, lines[2]))
	require.NoError(t, exp.Shutdown(context.Background()))
	assert.Equal(t, joinLines([][]byte{lines[0], lines[2]}), readFile(t, cfg.Path), "the dropped batch was not written")
	metadatatest.AssertEqualAuditFileWriteTimeouts(t, tt, []metricdata.DataPoint[int64]{{Value: 1}}, ignore...)
}

// Shutdown writes what is queued before it closes the file, so a caller
// already waiting is answered with its batch on disk; a batch after it is
// refused with an error naming the path.
func TestGroupCommitShutdownDrainsTheQueue(t *testing.T) {
	lines := fliptcapture.Lines(t, "audit.log")
	cfg := testConfig(t)
	h := newHold(1)
	waits := make(chan struct{}, 2)
	exp, e, _ := build(t, cfg, newStatusHost(), func(e *auditFileExporter) {
		e.committing = h.committing
		e.waiting = func() { waits <- struct{}{} }
	})
	results := make(chan error, 3)
	go func() {
		results <- exp.ConsumeLogs(context.Background(), logsOf(t, auditevent.SourceWebhook, lines[0]))
	}()
	<-h.reached[1]
	for _, i := range []int{1, 2} {
		go func() {
			results <- exp.ConsumeLogs(context.Background(), logsOf(t, auditevent.SourceWebhook, lines[i]))
		}()
		<-waits
	}
	shut := make(chan error, 1)
	go func() { shut <- exp.Shutdown(context.Background()) }()
	require.Eventually(t, func() bool {
		e.gc.mu.Lock()
		defer e.gc.mu.Unlock()
		return e.gc.closed
	}, 10*time.Second, time.Millisecond, "shutdown under way")
	close(h.hold[1])
	for range 3 {
		require.NoError(t, <-results)
	}
	require.NoError(t, <-shut)
	assert.Equal(t, joinLines([][]byte{lines[0], lines[1], lines[2]}), readFile(t, cfg.Path))
	err := exp.ConsumeLogs(context.Background(), logsOf(t, auditevent.SourceWebhook, lines[3]))
	require.Error(t, err)
	assert.Contains(t, err.Error(), e.opts.Path)
}

// A claim taken before the committer first waits holds: the committer takes
// no group until it is released. The committer used to clear the file's
// reservation on entering its wait, its own and a caller's alike, and then
// decided a group while that caller decided its batch (a race in the merge).
func TestClaimBeforeTheCommitterWaits(t *testing.T) {
	c := newCommitter()
	require.True(t, c.claim())
	got := make(chan []*batch, 1)
	go func() { got <- c.next(nil, maxGroupBytes) }()
	b := &batch{done: make(chan error, 1)}
	ok, behind := c.enqueue(b)
	require.True(t, ok)
	require.True(t, behind, "queued behind the claim")
	select {
	case g := <-got:
		t.Fatalf("the committer took a group of %d during a claim", len(g))
	case <-time.After(200 * time.Millisecond): // absence: a slow machine only makes this weaker
	}
	c.release()
	select {
	case g := <-got:
		require.Equal(t, []*batch{b}, g)
	case <-time.After(30 * time.Second):
		t.Fatal("no group after the claim was released")
	}
	c.close()
}
