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

	mu      sync.Mutex
	f       *os.File // nil until opened, and after an error (reopened on next write)
	fi      os.FileInfo
	size    int64
	bucket  int64  // rotation interval the current file belongs to
	pending []byte // batches accepted but not yet written (buffered mode)
	dirty   bool   // written since the last fsync
	chain   *chain
	closed  bool

	stop     chan struct{}
	kick     chan struct{} // wakes the maintenance worker after a rotation
	wg       sync.WaitGroup
	failing  bool // the last background flush failed (log only changes)
	maintain sync.Mutex
}

// ErrClosed is returned by Write after Close.
var ErrClosed = errors.New("audit file is closed")

// New returns a Writer and starts its background work. It tries to open the
// file at once; if that fails the error is returned, but the Writer is still
// usable and opens the file on the next Write.
func New(opts Options) (*Writer, error) {
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.BufferBytes <= 0 {
		opts.BufferBytes = 256 << 10
	}
	w := &Writer{opts: opts, log: opts.Logger, stop: make(chan struct{}), kick: make(chan struct{}, 1)}
	w.mu.Lock()
	err := w.openLocked()
	w.mu.Unlock()
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
		if len(w.pending) > 0 && len(w.pending)+len(data) > w.opts.BufferBytes {
			if err := w.flushLocked(); err != nil {
				return err
			}
		}
		if len(w.pending)+len(data) <= w.opts.BufferBytes {
			w.pending = append(w.pending, data...)
			return nil
		}
	}
	return w.writeLocked(data, w.opts.Sync == SyncEveryBatch)
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

func (w *Writer) flushLocked() error {
	if len(w.pending) > 0 {
		if err := w.writeLocked(w.pending, w.opts.Sync == SyncOnFlush); err != nil {
			return err
		}
		w.pending = w.pending[:0]
		return nil
	}
	if w.opts.Sync == SyncOnFlush && w.dirty && w.f != nil {
		return w.syncLocked()
	}
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
	var errs []error
	if len(w.pending) > 0 {
		if err := w.writeLocked(w.pending, false); err != nil {
			errs = append(errs, fmt.Errorf("%d buffered bytes not written: %w", len(w.pending), err))
		}
		w.pending = nil
	}
	if w.f != nil {
		if err := w.syncLocked(); err != nil {
			errs = append(errs, err)
		}
		w.closeFileLocked()
	}
	w.closed = true
	w.mu.Unlock()
	close(w.stop)
	w.wg.Wait()
	return errors.Join(errs...)
}

// writeLocked appends data to the file, rotating first if due.
func (w *Writer) writeLocked(data []byte, sync bool) error {
	if w.f != nil && !w.stillAtPath() {
		w.log.Warn("Audit file was moved or deleted by something else; opening a new file at its path",
			zap.String("path", w.opts.Path))
		_ = w.syncLocked()
		w.closeFileLocked()
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
	start := w.size
	n, err := w.f.Write(data)
	w.size += int64(n)
	if err != nil {
		w.rollbackLocked(start, false)
		return w.fail(fmt.Errorf("write: %w", err))
	}
	if w.chain != nil {
		if err := w.chain.add(data); err != nil {
			w.rollbackLocked(start, true)
			return w.fail(err)
		}
	}
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

// stillAtPath reports whether the open file is still the one at the path:
// writing on into a file that was deleted or renamed away would lose the
// lines (one stat per batch).
func (w *Writer) stillAtPath() bool {
	fi, err := os.Stat(w.opts.Path)
	return err == nil && os.SameFile(fi, w.fi)
}

// rollbackLocked removes a partly written batch (and its chain entries when
// chained) so a retry does not leave a fragment. If that fails the file is
// closed anyway; reopening repairs the tail and the chain.
func (w *Writer) rollbackLocked(start int64, chained bool) {
	if w.size != start {
		if err := w.f.Truncate(start); err == nil {
			w.size = start
		}
	}
	if chained {
		w.chain.rollback()
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

// openLocked opens (creating) the file for appending, repairs a torn tail,
// and opens the hash chain.
func (w *Writer) openLocked() error {
	path := w.opts.Path
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return w.fail(fmt.Errorf("create directory: %w", err))
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, w.opts.Perm)
	if err != nil {
		return w.fail(err)
	}
	fi, err := f.Stat()
	if err == nil && fi.Mode().Perm() != w.opts.Perm {
		err = f.Chmod(w.opts.Perm) // umask may have narrowed it
	}
	if err != nil {
		f.Close()
		return w.fail(err)
	}
	w.f, w.fi, w.size = f, fi, fi.Size()
	w.bucket = w.bucketOf(w.opts.now())
	if w.size > 0 {
		w.bucket = w.bucketOf(fi.ModTime())
		if err := w.repairTail(); err != nil {
			w.closeFileLocked()
			return w.fail(err)
		}
	} else if err := syncDir(dir); err != nil {
		w.closeFileLocked()
		return w.fail(err)
	}
	if w.opts.Chain {
		c, broken, err := openChain(path, w.opts.Perm, w.log)
		if err != nil {
			w.closeFileLocked()
			return w.fail(err)
		}
		w.chain = c
		if broken != nil {
			// Keep the pair as evidence and start a new segment.
			w.log.Error("Audit file does not match its hash chain; rotating it aside unchanged",
				zap.String("path", path), zap.Error(broken))
			return w.rotateLocked()
		}
	}
	return nil
}

// repairTail ends a partial last line (left by a crash mid-write) with a
// newline, so the fragment stands alone and no data is removed.
func (w *Writer) repairTail() error {
	var last [1]byte
	if _, err := w.f.ReadAt(last[:], w.size-1); err != nil && err != io.EOF {
		return fmt.Errorf("read tail: %w", err)
	}
	if last[0] == '\n' {
		return nil
	}
	if _, err := w.f.Write([]byte{'\n'}); err != nil {
		return fmt.Errorf("repair torn tail: %w", err)
	}
	w.size++
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("fsync: %w", err)
	}
	fire(w.opts.Events.TornTail)
	w.log.Warn("Audit file ended in a partial line, probably from a crash; ended it with a newline and kept it",
		zap.String("path", w.opts.Path), zap.Int64("offset", w.size-1))
	return nil
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
