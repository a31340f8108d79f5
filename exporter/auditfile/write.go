package auditfile

import (
	"context"
	"fmt"

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
