package auditfile

import (
	"context"
	"sync"
	"time"
)

// maxGroupBytes bounds a group (before merging), so one write does not grow
// without limit under load; a single larger batch is still written alone.
const maxGroupBytes = 4 << 20

// batch is one consumeLogs call on its way to the file: its encoded lines,
// and the channel its outcome is handed on.
type batch struct {
	buf     []byte
	spans   []span // lines the merge decides on (merge on only)
	scratch []byte // canonical encoding for the merge key
	lines   int    // lines in buf
	skipped int
	done    chan error // capacity 1: the committer never waits for a caller
	state   batchState // guarded by committer.mu
}

type batchState int

const (
	queued    batchState = iota
	taken                // in the group being written
	abandoned            // its caller gave up before it was taken: skipped
)

func (b *batch) reset() {
	b.buf, b.spans = b.buf[:0], b.spans[:0]
	b.lines, b.skipped, b.state = 0, 0, queued
}

// committer is the group commit: callers enqueue batches; one goroutine
// takes everything queued, in order, writes it with one write (one fsync and
// one chain intent under every_batch) and hands the outcome to every caller
// of the group. So concurrent batches share the disk's latency instead of
// queueing behind one another's fsync, and a 200 still means "on disk".
type committer struct {
	mu    sync.Mutex
	cond  sync.Cond
	queue []*batch
	// The file is reserved by the committer for a group (writing) or by a
	// caller for its own batch (claimed); each clears only its own, so a
	// claim made before the committer first waits is not lost.
	writing bool
	claimed bool
	closed  bool
	done    chan struct{} // closed when run returns
}

func newCommitter() *committer {
	c := &committer{done: make(chan struct{})}
	c.cond.L = &c.mu
	return c
}

// enqueue adds b to the queue; it reports whether the committer was busy
// (b waits behind another group), and false for ok once closed.
func (c *committer) enqueue(b *batch) (ok, behind bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false, false
	}
	behind = c.writing || c.claimed || len(c.queue) > 0
	c.queue = append(c.queue, b)
	c.cond.Signal()
	return true, behind
}

// claim reserves the file for the caller's own batch, as if the committer
// had taken it as a group of one, when nothing is queued or being written;
// the caller must release it. It reports whether it did.
func (c *committer) claim() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.writing || c.claimed || len(c.queue) > 0 || c.closed {
		return false
	}
	c.claimed = true
	return true
}

// release ends a claim, waking the committer only if batches queued behind
// it (or it is closing).
func (c *committer) release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.claimed = false
	if len(c.queue) > 0 || c.closed {
		c.cond.Signal()
	}
}

// abandon takes b out of the queue if the committer has not taken it yet;
// it reports whether it did (b will not be written).
func (c *committer) abandon(b *batch) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if b.state != queued {
		return false
	}
	b.state = abandoned
	return true
}

// close stops taking batches; run writes what is queued and returns.
func (c *committer) close() {
	c.mu.Lock()
	c.closed = true
	c.cond.Signal()
	c.mu.Unlock()
}

// next waits for the next group: the queued batches in order, up to limit
// bytes (at least one batch). It returns nil once closed and drained.
func (c *committer) next(group []*batch, limit int) []*batch {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writing = false // the previous group is done
	for {
		// claimed: a caller's own batch on the short path (claim).
		for (len(c.queue) == 0 && !c.closed) || c.claimed {
			c.cond.Wait()
		}
		if len(c.queue) == 0 {
			return nil
		}
		size, n := 0, 0
		for _, b := range c.queue {
			if b.state == abandoned {
				n++
				continue
			}
			if len(group) > 0 && size+len(b.buf) > limit {
				break
			}
			b.state = taken
			size += len(b.buf)
			group = append(group, b)
			n++
		}
		clear(c.queue[:n])
		c.queue = append(c.queue[:0], c.queue[n:]...)
		if len(group) > 0 {
			c.writing = true
			return group
		}
	}
}

// run is the committer's goroutine.
func (e *auditFileExporter) run(c *committer) {
	defer close(c.done)
	limit := maxGroupBytes
	if e.opts.MaxBytes > 0 && e.opts.MaxBytes < int64(limit) {
		limit = int(e.opts.MaxBytes)
	}
	var group []*batch
	var buf []byte
	for {
		group = c.next(group[:0], limit)
		if group == nil {
			return
		}
		buf = e.commit(group, buf[:0])
		clear(group)
		if cap(buf) > 2*maxGroupBytes {
			buf = nil // an oversized batch does not pin its memory
		}
	}
}

// commit writes a group and hands its outcome to its callers. The merge
// decides the group's lines in enqueue order and commits or discards them
// with the write's outcome before any caller is woken.
func (e *auditFileExporter) commit(group []*batch, buf []byte) []byte {
	ctx := context.Background() // no caller's: any of them may have gone
	written, size := 0, 0
	if e.merge != nil {
		e.merge.begin(ctx)
		for _, b := range group {
			n, sz := e.merge.decide(b)
			written, size = written+n, size+sz
		}
	} else {
		for _, b := range group {
			written, size = written+b.lines, size+len(b.buf)
		}
	}
	// A group of one with nothing cut is written from its batch's buffer.
	data := group[0].buf
	if len(group) > 1 || size != len(data) {
		for _, b := range group {
			buf = b.appendKept(buf)
		}
		data = buf
	}
	if written == 0 {
		// Only copies of events whose writes have succeeded.
		if e.merge != nil {
			e.merge.finish(ctx, true)
		}
		e.health.handOver(func() { deliver(group, nil) })
		return buf
	}
	if e.committing != nil {
		e.committing(len(group))
	}
	e.writing.Lock()
	err := e.w.Write(data)
	e.writing.Unlock()
	if e.merge != nil {
		e.merge.finish(ctx, err == nil)
	}
	if err == nil {
		e.tel.AuditFileRecordsWritten.Add(ctx, int64(written))
		e.tel.AuditFileBytesWritten.Add(ctx, int64(len(data)))
	}
	e.tel.AuditFileCommitBatches.Record(ctx, int64(len(group)))
	e.lastBatch.Store(time.Now().UnixNano())
	e.health.settle(err, func() { deliver(group, err) })
	return buf
}

// deliver hands err to every caller of group; a batch is not touched after
// its outcome is handed on (its caller may reuse it at once).
func deliver(group []*batch, err error) {
	for _, b := range group {
		b.done <- err
	}
}
