package auditfile

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-flipt/otelcol-flipt/exporter/auditfile/internal/logfile"
)

func (e *auditFileExporter) consumeLogs(ctx context.Context, ld plog.Logs) error {
	b, _ := e.batches.Get().(*batch)
	if b == nil {
		b = &batch{done: make(chan error, 1)}
	}
	b.reset()
	e.enc.appendLogs(b, ld)
	if b.skipped > 0 {
		e.tel.AuditFileRecordsSkipped.Add(ctx, int64(b.skipped))
	}
	if b.lines == 0 {
		e.batches.Put(b)
		return nil
	}
	// A plain error is retryable: the retry sender, the queue or the sender
	// upstream (the webhook receiver answers 503) keeps the batch.
	return e.write(ctx, b)
}

// write enqueues b for the committer and waits for the outcome of the group
// that writes it, as long as ctx allows. The file writer cannot be
// interrupted (an fsync on a hung disk can take minutes): if ctx ends while
// the group is under way the batch is returned as retryable while the write
// may still complete. It can then reach the file twice, never not at all;
// the merge commits what really happened once the write returns. A batch not
// taken yet when ctx ends is taken out of the queue, so it is not written.
func (e *auditFileExporter) write(ctx context.Context, b *batch) error {
	if e.inline && e.committing == nil && e.writeInline(b) {
		e.batches.Put(b)
		return nil
	}
	ok, behind := e.gc.enqueue(b)
	if !ok {
		e.batches.Put(b)
		return &logfile.PathError{Path: e.opts.Path, Err: logfile.ErrClosed}
	}
	if behind && e.waiting != nil {
		e.waiting()
	}
	select {
	case err := <-b.done:
		e.batches.Put(b)
		return err
	case <-ctx.Done():
	}
	if e.gc.abandon(b) {
		// The committer drops it; b is not reused, so nothing races.
		return fmt.Errorf("audit file %s: timed out waiting for the write before this batch; the batch was not written: %w",
			e.opts.Path, context.Cause(ctx))
	}
	err := fmt.Errorf("audit file %s: write timed out; the batch may still reach the file: %w",
		e.opts.Path, context.Cause(ctx))
	if done, werr := e.health.stalled(err, b.done); done {
		e.batches.Put(b)
		return werr
	}
	e.tel.AuditFileWriteTimeouts.Add(ctx, 1)
	return err
}

// writeInline is the short path of a batch while the file is idle and
// batches wait in memory (fsync on_flush or never, with a flush_interval):
// the caller does for its batch what the committer does for a group of one
// (the merge's decisions, the hand-over to the buffer, the telemetry), in
// its own goroutine, without the two goroutine switches of the hand-off.
// It takes no lock it would wait for and does no file I/O, so it cannot
// hang on the disk and needs no deadline. When it cannot (a group queued or
// being written, a flush holding the writer, the buffer full) it reports
// false with nothing changed, and the batch takes the committer's path.
func (e *auditFileExporter) writeInline(b *batch) bool {
	if !e.gc.claim() {
		return false
	}
	defer e.gc.release()
	if !e.writing.TryLock() {
		return false // the probe is checking the file
	}
	defer e.writing.Unlock()
	ctx := context.Background()
	written, size := b.lines, len(b.buf)
	if e.merge != nil {
		e.merge.begin(ctx)
		written, size = e.merge.decide(b)
	}
	if written == 0 && e.merge != nil {
		e.merge.finish(ctx, true) // only copies of events written already
		return true
	}
	if !e.w.Buffer(size, b.appendKept) {
		if e.merge != nil {
			e.merge.finish(ctx, false)
		}
		return false
	}
	if e.merge != nil {
		e.merge.finish(ctx, true)
	}
	e.tel.AuditFileRecordsWritten.Add(ctx, int64(written))
	e.tel.AuditFileBytesWritten.Add(ctx, int64(size))
	e.tel.AuditFileCommitBatches.Record(ctx, 1)
	e.lastBatch.Store(time.Now().UnixNano())
	e.health.settle(nil, nil)
	return true
}
