package auditfile

import (
	"context"
	"fmt"
	"time"
)

// acquire takes the write slot, waiting no longer than ctx allows.
func (e *auditFileExporter) acquire(ctx context.Context) error {
	select {
	case e.slot <- struct{}{}:
		return nil
	default:
	}
	if e.waiting != nil {
		e.waiting()
	}
	select {
	case e.slot <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("audit file %s: timed out waiting for the write before this batch; the batch was not written: %w",
			e.opts.Path, context.Cause(ctx))
	}
}

// write hands *bp to the file and waits for the outcome as long as ctx
// allows. The file writer cannot be interrupted (an fsync on a hung disk can
// take minutes), so it runs on its own goroutine: if ctx ends first the batch
// is returned as retryable while the write may still complete. It can then
// reach the file twice, never not at all; the merge commits what really
// happened once the write returns.
func (e *auditFileExporter) write(ctx context.Context, bp *[]byte, written int) error {
	if ctx.Done() == nil { // no deadline to honour
		err := e.w.Write(*bp)
		e.finish(ctx, bp, written, err, nil)
		return err
	}
	result := make(chan error, 1)
	go func() {
		err := e.w.Write(*bp)
		e.finish(context.Background(), bp, written, err, result) // ctx may be over by now
	}()
	select {
	case err := <-result:
		return err
	case <-ctx.Done():
	}
	err := fmt.Errorf("audit file %s: write timed out; the batch may still reach the file: %w",
		e.opts.Path, context.Cause(ctx))
	if done, werr := e.health.stalled(err, result); done {
		return werr
	}
	e.tel.AuditFileWriteTimeouts.Add(ctx, 1)
	return err
}

// finish settles a batch once its write returned (err) or when there was
// nothing to write: it commits or discards the merge decisions, counts,
// reports health, hands err to a waiting caller and releases the slot.
func (e *auditFileExporter) finish(ctx context.Context, bp *[]byte, written int, err error, result chan<- error) {
	if e.merge != nil {
		e.merge.finish(ctx, err == nil)
	}
	if err == nil && written > 0 {
		e.tel.AuditFileRecordsWritten.Add(ctx, int64(written))
		e.tel.AuditFileBytesWritten.Add(ctx, int64(len(*bp)))
	}
	if written > 0 {
		e.lastBatch.Store(time.Now().UnixNano())
		e.health.settle(err, result)
	}
	e.bufs.Put(bp)
	<-e.slot
}
