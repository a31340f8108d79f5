package logfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"go.uber.org/zap"
)

// Writer appends batches of whole lines to one file. It is safe for
// concurrent use.
type Writer struct {
	opts Options
	log  *zap.Logger

	mu     sync.Mutex
	f      *os.File // nil until opened, and after an error (reopened on next write)
	fi     os.FileInfo
	size   int64
	bucket int64 // rotation interval the current file belongs to
	// bmu guards pending and spare (buffered mode), so batches are accepted
	// while a flush writes the previous buffer under mu; taken after mu.
	bmu     sync.Mutex
	pending []byte        // batches accepted but not yet written (buffered mode)
	spare   []byte        // the other buffer, empty, while pending fills
	half    chan struct{} // pending reached half its size: flush it now
	dirty   bool          // written since the last fsync
	chain   *chain
	closed  bool     // set under mu and bmu
	lock    *os.File // the flock on LockPath, held while open
	// nextPrev is the prev of the chain segment to create next (the last
	// hash of the one just set aside); nil: zeros, or none pending.
	nextPrev []byte

	stop     chan struct{}
	kick     chan struct{} // wakes the maintenance worker after a rotation
	wg       sync.WaitGroup
	failing  bool // the last background flush failed (log only changes)
	maintain sync.Mutex
}

// ErrClosed is returned by Write after Close.
var ErrClosed = errors.New("audit file is closed")

// New returns a Writer and starts its background work. It takes the file's
// lock and tries to open the file at once; if another writer holds the lock
// it returns no Writer and an error matching ErrLocked. If opening fails
// otherwise the error is returned, but the Writer is still usable and opens
// the file on the next Write.
func New(opts Options) (*Writer, error) {
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.BufferBytes <= 0 {
		opts.BufferBytes = 256 << 10
	}
	w := &Writer{opts: opts, log: opts.Logger, stop: make(chan struct{}), kick: make(chan struct{}, 1), half: make(chan struct{}, 1)}
	w.mu.Lock()
	err := w.openLocked()
	w.mu.Unlock()
	if errors.Is(err, ErrLocked) {
		return nil, err // another writer: refused outright, not retried
	}
	w.poke() // apply retention and compression to what a previous run left
	w.wg.Add(1)
	go w.maintenanceLoop()
	if opts.buffered() {
		w.wg.Add(1)
		go w.flushLoop()
	}
	return w, err
}

// Write appends data, which must be whole lines. Either all of data is
// accepted or none: on error nothing of it stays in the file (or, if even
// rolling back failed, its fragment is ended by a newline when the file is
// reopened) and the caller may retry. In buffered mode data is accepted into
// memory and written on the next flush.
func (w *Writer) Write(data []byte) error {
	if len(data) == 0 {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	if w.opts.buffered() {
		for {
			w.bmu.Lock()
			if w.appendLocked(len(data), func(dst []byte) []byte { return append(dst, data...) }) {
				w.bmu.Unlock()
				return nil
			}
			empty := len(w.pending) == 0
			w.bmu.Unlock()
			if empty {
				break // larger than the buffer: written on its own
			}
			if err := w.flushLocked(); err != nil {
				return err
			}
		}
	}
	return w.writeLocked(data, w.opts.Sync == SyncEveryBatch)
}

// Buffer accepts n bytes of whole lines into the memory buffer, as Write
// does, when that needs no file I/O and no wait: buffered mode, room for n
// bytes, and the buffer not held by another call (a flush holds it only to
// swap it for the spare one, not while writing). fill appends exactly those
// bytes to its argument and returns it. Buffer reports whether it did; if
// not, nothing changed and the caller is to use Write. So a caller that must
// not block (Write can wait on a hung disk) can still skip a hand-off. As
// with Write, concurrent calls are accepted in no particular order.
func (w *Writer) Buffer(n int, fill func([]byte) []byte) bool {
	if !w.opts.buffered() || n == 0 || !w.bmu.TryLock() {
		return false
	}
	defer w.bmu.Unlock()
	return !w.closed && w.appendLocked(n, fill)
}

// appendLocked adds n bytes to the buffer if they fit (bmu held). From half
// a buffer on it asks flushLoop to write it in the background, so the next
// batches fill the spare buffer meanwhile instead of waiting for the write.
func (w *Writer) appendLocked(n int, fill func([]byte) []byte) bool {
	if len(w.pending)+n > w.opts.BufferBytes {
		return false
	}
	w.pending = fill(w.pending)
	if len(w.pending) >= w.opts.BufferBytes/2 {
		select {
		case w.half <- struct{}{}:
		default:
		}
	}
	return true
}

// Flush writes buffered batches to the file and, with SyncOnFlush, fsyncs.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	return w.flushLocked()
}

// flushLocked writes the buffer (mu held). The buffer is swapped for the
// spare one first, so batches are accepted while it is written; flushes are
// serialized by mu, so the file keeps the order of acceptance. On failure
// the data goes back in front of what arrived meanwhile.
func (w *Writer) flushLocked() error {
	w.bmu.Lock()
	out := w.pending
	if len(out) == 0 {
		w.bmu.Unlock()
		if w.opts.Sync == SyncOnFlush && w.dirty && w.f != nil {
			return w.syncLocked()
		}
		return nil
	}
	w.pending, w.spare = w.spare[:0], nil
	w.bmu.Unlock()
	err := w.writeLocked(out, w.opts.Sync == SyncOnFlush)
	w.bmu.Lock()
	defer w.bmu.Unlock()
	if err != nil {
		later := w.pending
		w.pending, w.spare = append(out, later...), later[:0]
		return err
	}
	w.spare = out[:0]
	return nil
}

// Close writes what is buffered, fsyncs and closes the file, and stops the
// background work (waiting for a running compression).
func (w *Writer) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.bmu.Lock()
	w.closed = true // under both locks: Buffer reads it under bmu
	out := w.pending
	w.pending, w.spare = nil, nil
	w.bmu.Unlock()
	var errs []error
	if len(out) > 0 {
		if err := w.writeLocked(out, false); err != nil {
			errs = append(errs, fmt.Errorf("%d buffered bytes not written: %w", len(out), err))
		}
	}
	if w.f != nil {
		if err := w.syncLocked(); err != nil {
			errs = append(errs, err)
		}
		w.closeFileLocked()
	}
	if w.lock != nil {
		unlockFile(LockPath(w.opts.Path), w.lock)
		w.lock = nil
	}
	w.mu.Unlock()
	close(w.stop)
	w.wg.Wait()
	return errors.Join(errs...)
}

// writeLocked appends data, rotating first if due. With the chain on, the
// write is announced in the chain first, so a crash can leave at most this
// write unchained, and its lines are sealed at the next start.
func (w *Writer) writeLocked(data []byte, sync bool) error {
	if w.f != nil {
		if err := w.reconcileLocked(); err != nil {
			return err
		}
	}
	if w.f == nil {
		if err := w.openLocked(); err != nil {
			return err
		}
	}
	if w.rotationDue(len(data)) {
		if err := w.rotateLocked(); err != nil {
			return err
		}
	}
	start := w.size // the real size: reconciled with fstat just above
	if w.chain != nil {
		if err := w.chain.begin(len(data), sync); err != nil {
			w.chain.rollback(false)
			w.closeFileLocked()
			return w.fail(err)
		}
	}
	n, err := w.f.Write(data)
	if err != nil {
		w.rollbackLocked(start)
		return w.fail(fmt.Errorf("write: %w", err))
	}
	if w.chain != nil {
		if err := w.chain.add(data); err != nil {
			w.rollbackLocked(start)
			return w.fail(err)
		}
	}
	w.size += int64(n)
	w.dirty = true
	if sync {
		if err := w.syncLocked(); err != nil {
			// The batch may or may not be on disk; a retry can duplicate a
			// line, never lose one.
			w.closeFileLocked()
			return err
		}
	}
	return nil
}

// reconcileLocked looks for what something else did to the file since the
// last write (one lstat and one fstat per batch): moved or deleted (logrotate
// create, or an operator), truncated (logrotate copytruncate), or grown by
// bytes the exporter did not write. Writing on as if nothing happened would
// lose lines or break the chain.
func (w *Writer) reconcileLocked() error {
	fi, err := w.f.Stat()
	if err != nil {
		w.closeFileLocked()
		return w.fail(fmt.Errorf("fstat: %w", err))
	}
	switch {
	case !w.stillAtPath():
		w.log.Warn("Audit file was moved or deleted by something else; opening a new file at its path",
			zap.String("path", w.opts.Path))
		return w.detachLocked()
	case fi.Size() < w.size:
		w.log.Warn("Audit file was truncated by something else (copytruncate); the lines written before are sealed in a chain segment of their own",
			zap.String("path", w.opts.Path), zap.Int64("size_was", w.size), zap.Int64("size_now", fi.Size()))
		return w.detachLocked()
	case fi.Size() > w.size && w.chain != nil:
		w.log.Error("Audit file grew by bytes the exporter did not write; rotating it aside unchanged as evidence",
			zap.String("path", w.opts.Path), zap.Int64("size_was", w.size), zap.Int64("size_now", fi.Size()))
		fire(w.opts.Events.ChainBroken)
		w.size = fi.Size()
		return w.rotateLocked()
	case fi.Size() > w.size:
		w.log.Warn("Audit file grew by bytes the exporter did not write (another writer?)",
			zap.String("path", w.opts.Path), zap.Int64("size_was", w.size), zap.Int64("size_now", fi.Size()))
		w.size = fi.Size()
		if _, err := w.repairTail(); err != nil {
			w.closeFileLocked()
			return w.fail(err)
		}
	}
	return nil
}

// detachLocked closes a file that is no longer (all) at the path. With the
// chain on, the chain of the lines written so far is set aside as a segment
// of its own (its log is wherever the external rotation put it) and the next
// segment starts from its last hash; reopening the path follows.
func (w *Writer) detachLocked() error {
	var prev []byte
	if w.chain != nil {
		prev = w.chain.last()
	}
	_ = w.syncLocked()
	w.closeFileLocked()
	if !w.opts.Chain {
		return nil
	}
	if err := w.setChainAsideLocked(prev); err != nil {
		return w.fail(err)
	}
	return nil
}

// setChainAsideLocked renames the closed chain at the path to the chain name
// of a backup that has no log beside it, and makes prev the start of the
// next segment.
func (w *Writer) setChainAsideLocked(prev []byte) error {
	w.nextPrev = prev
	name, err := w.backupName()
	if err != nil {
		return fmt.Errorf("set hash chain aside: %w", err)
	}
	if err := os.Rename(ChainPath(w.opts.Path), ChainPath(name)); err != nil {
		if os.IsNotExist(err) {
			return nil // gone with its directory; nothing to keep
		}
		return fmt.Errorf("set hash chain aside: %w", err)
	}
	w.log.Info("Hash chain segment of an externally rotated audit file kept",
		zap.String("path", w.opts.Path), zap.String("chain", ChainPath(name)))
	w.poke() // retention applies to it
	return syncDir(filepath.Dir(w.opts.Path))
}

// stillAtPath reports whether the open file is still the one at the path:
// writing on into a file that was deleted or renamed away would lose the
// lines (one lstat per batch).
func (w *Writer) stillAtPath() bool {
	fi, err := os.Lstat(w.opts.Path)
	return err == nil && os.SameFile(fi, w.fi)
}

// rollbackLocked removes a partly written batch (and its chain entries) so
// a retry does not leave a fragment. It cuts the file back to start only if
// it is longer now, so it never extends a file something else truncated.
// If the file cannot be cut, the chain keeps the write's intent, so the
// reopen explains and seals the fragment instead of taking it for tampering.
func (w *Writer) rollbackLocked(start int64) {
	cut := false
	if fi, err := w.f.Stat(); err == nil {
		cut = fi.Size() == start || fi.Size() > start && w.f.Truncate(start) == nil
	}
	if w.chain != nil {
		w.chain.rollback(!cut)
	}
	w.closeFileLocked()
}

func (w *Writer) syncLocked() error {
	if err := w.f.Sync(); err != nil {
		return w.fail(fmt.Errorf("fsync: %w", err))
	}
	if w.chain != nil {
		if err := w.chain.sync(); err != nil {
			return w.fail(err)
		}
	}
	w.dirty = false
	return nil
}

// fail counts an error and names the path in it.
func (w *Writer) fail(err error) error {
	fire(w.opts.Events.WriteError)
	return &PathError{Path: w.opts.Path, Err: err}
}

// PathError is every error of the file, with its path.
type PathError struct {
	Path string
	Err  error
}

func (e *PathError) Error() string { return "audit file " + e.Path + ": " + e.Err.Error() }
func (e *PathError) Unwrap() error { return e.Err }

func (w *Writer) closeFileLocked() {
	if w.f != nil {
		_ = w.f.Close()
		w.f = nil
	}
	if w.chain != nil {
		w.chain.close()
		w.chain = nil
	}
}

// openLocked takes the lock, opens (creating) the file for appending,
// repairs a torn tail, and opens the hash chain.
func (w *Writer) openLocked() error {
	path := w.opts.Path
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return w.fail(fmt.Errorf("create directory: %w", err))
	}
	if err := w.lockLocked(); err != nil {
		var locked *LockedError
		if errors.As(err, &locked) {
			fire(w.opts.Events.WriteError)
			return err
		}
		return w.fail(err)
	}
	f, created, err := openFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, w.opts.Perm)
	if err != nil {
		return w.fail(err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return w.fail(err)
	}
	if !created && fi.Mode().Perm()&^w.opts.Perm != 0 {
		// Not changed: the exporter only sets the mode of files it creates.
		w.log.Warn("Audit file allows more access than file_permissions; leaving its mode as it is",
			zap.String("path", path), zap.Stringer("mode", fi.Mode().Perm()), zap.Stringer("file_permissions", w.opts.Perm))
	}
	w.f, w.fi, w.size = f, fi, fi.Size()
	w.bucket = w.bucketOf(w.opts.now())
	repaired := false
	if w.size > 0 {
		w.bucket = w.bucketOf(fi.ModTime())
		if repaired, err = w.repairTail(); err != nil {
			w.closeFileLocked()
			return w.fail(err)
		}
	} else if err := syncDir(dir); err != nil {
		w.closeFileLocked()
		return w.fail(err)
	}
	if w.opts.Chain {
		return w.openChainLocked(repaired)
	}
	return nil
}

// openChainLocked opens the chain of the open file and acts on what it finds.
func (w *Writer) openChainLocked(repaired bool) error {
	c, state, problem, err := openChain(w.opts.Path, w.f, w.size, w.opts.Perm, w.nextPrev, repaired, w.log)
	if err != nil {
		w.closeFileLocked()
		return w.fail(err)
	}
	w.nextPrev = nil
	w.chain = c
	switch state {
	case chainMismatch, chainUnexplained:
		// Keep the pair as evidence and start a new segment.
		w.log.Error("Audit file does not match its hash chain; rotating the pair aside unchanged as evidence",
			zap.String("path", w.opts.Path), zap.Error(problem))
		fire(w.opts.Events.ChainBroken)
		return w.rotateLocked()
	case chainLogReplaced:
		w.log.Warn("Audit file is empty but its hash chain is not: the file was rotated by something else",
			zap.String("path", w.opts.Path))
		prev := c.last()
		c.close()
		w.chain = nil
		if err := w.setChainAsideLocked(prev); err != nil {
			w.closeFileLocked()
			return w.fail(err)
		}
		return w.openChainLocked(false)
	}
	return nil
}

// repairTail ends a partial last line (left by a crash mid-write) with a
// newline, so the fragment stands alone and no data is removed.
func (w *Writer) repairTail() (repaired bool, err error) {
	var last [1]byte
	if _, err := w.f.ReadAt(last[:], w.size-1); err != nil && err != io.EOF {
		return false, fmt.Errorf("read tail: %w", err)
	}
	if last[0] == '\n' {
		return false, nil
	}
	if _, err := w.f.Write([]byte{'\n'}); err != nil {
		return false, fmt.Errorf("repair torn tail: %w", err)
	}
	w.size++
	if err := w.f.Sync(); err != nil {
		return false, fmt.Errorf("fsync: %w", err)
	}
	fire(w.opts.Events.TornTail)
	w.log.Warn("Audit file ended in a partial line, probably from a crash; ended it with a newline and kept it",
		zap.String("path", w.opts.Path), zap.Int64("offset", w.size-1))
	return true, nil
}

func (w *Writer) bucketOf(t time.Time) int64 {
	if w.opts.Interval <= 0 {
		return 0
	}
	return t.UnixNano() / int64(w.opts.Interval)
}

func (w *Writer) rotationDue(n int) bool {
	if w.size == 0 {
		return false
	}
	if w.opts.MaxBytes > 0 && w.size+int64(n) > w.opts.MaxBytes {
		return true
	}
	return w.opts.Interval > 0 && w.bucketOf(w.opts.now()) != w.bucket
}

func (w *Writer) flushLoop() {
	defer w.wg.Done()
	t := time.NewTicker(w.opts.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
		case <-w.half:
		}
		w.mu.Lock()
		if w.closed {
			w.mu.Unlock()
			return
		}
		err := w.flushLocked()
		wasFailing := w.failing
		w.failing = err != nil
		w.mu.Unlock()
		switch {
		case err != nil && !wasFailing:
			w.log.Error("Cannot flush audit file; keeping the data in memory and retrying", zap.Error(err))
		case err == nil && wasFailing:
			w.log.Info("Audit file flush recovered", zap.String("path", w.opts.Path))
		}
	}
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync directory %s: %w", dir, err)
	}
	return nil
}
