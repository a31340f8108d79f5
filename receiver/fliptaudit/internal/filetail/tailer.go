package filetail

import (
	"context"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"

	"github.com/otelcol-flipt/otelcol-flipt/internal/auditevent"
)

// Semantic-convention attributes naming the file a record was read from.
const (
	AttrLogFilePath = "log.file.path"
	AttrLogFileName = "log.file.name"
)

// maxBackoff caps the wait between retries of a batch the consumer refused.
const maxBackoff = 5 * time.Second

// forgetAfter is how long a file that no include pattern matches any more
// (renamed by rotation, or deleted) is still read: its writer may hold it
// open and keep writing until it reopens its log.
const forgetAfter = time.Minute

// Tailer polls the files matching its include patterns and hands each new
// complete line, decoded as an audit event, to its consumer.
type Tailer struct {
	cfg     Config
	set     component.TelemetrySettings
	id      component.ID
	consume func(context.Context, plog.Logs) error
	onSkip  func(path string, line int, err error)
	opts    options
	// Limits bound the structure of each decoded line; set before Start.
	Limits auditevent.Limits

	mu      sync.Mutex // guards the lifecycle fields below
	cancel  context.CancelFunc
	done    chan struct{}
	stopped bool

	// Owned by the run goroutine, and by Shutdown once it has ended.
	client     storage.Client
	files      map[fileID]*file
	pool       *pool
	known      map[fileID]stored // stored, not yet matched to a file
	alloc      slots
	legacy     bool    // the version 1 value is still stored
	dirty      []*file // files whose checkpoint is out of date
	deletes    []int   // slots of forgotten files
	firstPoll  bool
	startAtEnd bool
	lines      lineReader
	warned     map[string]string
	warnedMany bool
	// forgetAfter is the package constant, shortened by tests.
	forgetAfter time.Duration

	polls atomic.Int64 // completed polls, for tests
}

// Option adds an observer to a Tailer.
type Option func(*options)

type options struct {
	openFiles   func(delta int64)
	storeWrites func(n int64)
}

// WithOpenFiles reports each change of the number of files held open.
func WithOpenFiles(fn func(delta int64)) Option {
	return func(o *options) { o.openFiles = fn }
}

// WithCheckpointWrites reports the checkpoint values written to (or
// deleted from) storage.
func WithCheckpointWrites(fn func(n int64)) Option {
	return func(o *options) { o.storeWrites = fn }
}

// New returns a tailer; nothing happens until Start. onSkip, which may be
// nil, is called once for each line that is skipped (not an audit event,
// malformed, or too long) with the file's path and the 1-based line number.
func New(cfg *Config, set component.TelemetrySettings, id component.ID, consume func(ctx context.Context, ld plog.Logs) error, onSkip func(path string, line int, err error), opts ...Option) *Tailer {
	if onSkip == nil {
		onSkip = func(string, int, error) {}
	}
	o := options{openFiles: func(int64) {}, storeWrites: func(int64) {}}
	for _, opt := range opts {
		opt(&o)
	}
	return &Tailer{
		cfg: *cfg, set: set, id: id, consume: consume, onSkip: onSkip, opts: o,
		files: map[fileID]*file{}, warned: map[string]string{},
		pool:        newPool(cfg.MaxConcurrentFiles, o.openFiles),
		forgetAfter: forgetAfter,
		lines:       lineReader{maxLine: cfg.maxLineSize()},
	}
}

// Start opens the checkpoint storage and starts polling.
func (t *Tailer) Start(ctx context.Context, host component.Host) error {
	if err := t.cfg.Validate(); err != nil {
		return err
	}
	client, err := openStorage(ctx, host, t.cfg.Storage, t.id)
	if err != nil {
		return err
	}
	known, alloc, legacy, err := loadCheckpoints(ctx, client)
	if err != nil {
		if client != nil {
			_ = client.Close(ctx)
		}
		return err
	}
	t.client, t.known, t.alloc, t.legacy = client, known, alloc, legacy
	t.firstPoll = true
	t.startAtEnd = t.cfg.StartAt == StartAtEnd && len(known) == 0

	t.mu.Lock()
	defer t.mu.Unlock()
	// Start's context ends with Start; polling lives until Shutdown.
	runCtx, cancel := context.WithCancel(context.Background())
	t.cancel, t.done = cancel, make(chan struct{})
	go t.run(runCtx)
	return nil
}

// Shutdown stops polling, saves the checkpoints and closes the files and
// the storage client. A batch being consumed is finished first; a batch
// the consumer did not accept is read again after a restart.
func (t *Tailer) Shutdown(ctx context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cancel == nil || t.stopped {
		return nil
	}
	t.cancel()
	select {
	case <-t.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	t.stopped = true
	err := t.save(ctx)
	t.pool.closeAll()
	t.files = nil
	if t.client != nil {
		err = errors.Join(err, t.client.Close(ctx))
	}
	return err
}

func (t *Tailer) run(ctx context.Context) {
	defer close(t.done)
	timer := time.NewTimer(0)
	defer timer.Stop()
	var backoff time.Duration
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		wait := t.cfg.PollInterval
		if t.poll(ctx) {
			backoff = min(max(2*backoff, wait), max(maxBackoff, wait))
			wait = backoff
		} else {
			backoff = 0
		}
		t.polls.Add(1)
		timer.Reset(wait)
	}
}

// poll finds the files, reads what is new in each and forgets files gone
// and idle. It reports whether the consumer refused a batch. Finding costs
// one stat per file and no descriptor; only files that changed are opened.
func (t *Tailer) poll(ctx context.Context) (refused bool) {
	paths := t.discover()
	if len(paths) > t.cfg.MaxConcurrentFiles && !t.warnedMany {
		t.warnedMany = true
		t.set.Logger.Warn("include matches more files than max_concurrent_files: the least recently read are closed and reopened when they grow",
			zap.Int("files", len(paths)), zap.Int("max_concurrent_files", t.cfg.MaxConcurrentFiles))
	}
	found := make(map[fileID]os.FileInfo, len(paths))
	for _, path := range paths {
		if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() {
			found[t.track(path, fi).id] = fi
		}
	}
	if t.firstPoll {
		// Checkpoints of files no longer found are dropped now.
		for _, c := range t.known {
			if c.slot >= 0 {
				t.deletes = append(t.deletes, c.slot)
				t.alloc.free = append(t.alloc.free, c.slot)
			}
		}
		t.firstPoll, t.known = false, nil
	}
	now := time.Now()
	files := t.sortedFiles()
	// Every file is marked found or missing before any is read, so the
	// pool never closes a file that was rotated away since the last poll.
	for _, fl := range files {
		_, seen := found[fl.id]
		switch {
		case seen:
			fl.missing = time.Time{}
		case fl.missing.IsZero():
			fl.missing = now
		}
	}
	for _, fl := range files {
		read, err := t.visit(ctx, fl, found[fl.id])
		if err != nil {
			refused = true
			break
		}
		if read {
			fl.lastRead = now
		}
		// A file rotated away or deleted is read until it has been idle
		// for forgetAfter since it went missing.
		if !fl.missing.IsZero() && !read && fl.missing.Before(now) &&
			now.Sub(later(fl.missing, fl.lastRead)) >= t.forgetAfter {
			t.forget(fl)
		}
	}
	t.saveOrWarn(context.WithoutCancel(ctx))
	return refused
}

// visit reads what is new in fl. fi is what stat found at its path, or nil
// if include no longer finds it: then only a held descriptor can read it.
func (t *Tailer) visit(ctx context.Context, fl *file, fi os.FileInfo) (bool, error) {
	switch {
	case fi == nil && fl.f == nil:
		return false, nil
	case fi != nil && fl.ready && fl.idle(fi):
		return false, nil
	}
	if err := t.pool.open(fl); err != nil {
		switch {
		case errors.Is(err, errReplaced):
		case errors.Is(err, errPoolFull):
			t.warn("pool", "Cannot open file", err, zap.String("path", fl.path))
		default:
			t.warnUnreadable(fl, err)
		}
		return false, nil
	}
	t.clearWarning("open:" + fl.path)
	t.clearWarning("pool")
	if !fl.ready {
		if fi == nil {
			return false, nil
		}
		if err := t.prepare(fl, fi.Size()); err != nil {
			t.warnUnreadable(fl, err)
			return false, nil
		}
	}
	return t.drain(ctx, fl)
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func (t *Tailer) markDirty(fl *file) {
	if !fl.dirty {
		fl.dirty = true
		t.dirty = append(t.dirty, fl)
	}
}

// save writes the checkpoints that changed since the last save, and
// deletes those of forgotten files, in one storage batch: its cost follows
// what changed, not how many files are known.
func (t *Tailer) save(ctx context.Context) error {
	if len(t.dirty) == 0 && len(t.deletes) == 0 && !t.legacy {
		return nil
	}
	if t.client == nil {
		t.saved()
		return nil
	}
	ops := make([]*storage.Operation, 0, len(t.deletes)+len(t.dirty)+2)
	for _, slot := range t.deletes {
		ops = append(ops, storage.DeleteOperation(slotKey(slot)))
	}
	for _, fl := range t.dirty {
		if t.files[fl.id] != fl {
			continue // forgotten since
		}
		if fl.slot < 0 {
			fl.slot = t.alloc.take()
		}
		ops = append(ops, storage.SetOperation(slotKey(fl.slot), encode(fl.checkpoint())))
	}
	if t.alloc.grown || t.legacy {
		ops = append(ops, storage.SetOperation(indexKey, encodeIndex(t.alloc.n)))
	}
	if t.legacy {
		ops = append(ops, storage.DeleteOperation(legacyKey))
	}
	if err := t.client.Batch(ctx, ops...); err != nil {
		return err
	}
	t.opts.storeWrites(int64(len(ops)))
	t.saved()
	return nil
}

func (t *Tailer) saved() {
	for _, fl := range t.dirty {
		fl.dirty = false
	}
	t.dirty, t.deletes = t.dirty[:0], t.deletes[:0]
	t.alloc.grown, t.legacy = false, false
}

func (t *Tailer) saveOrWarn(ctx context.Context) {
	if err := t.save(ctx); err != nil {
		t.warn("save", "Cannot save checkpoints", err)
		return
	}
	t.clearWarning("save")
}

// warn logs an error once until it changes or clears, so a persistent
// problem does not log at every poll.
func (t *Tailer) warn(key, msg string, err error, fields ...zap.Field) {
	if t.warned[key] == err.Error() {
		return
	}
	t.warned[key] = err.Error()
	t.set.Logger.Warn(msg, append(fields, zap.Error(err))...)
}

func (t *Tailer) clearWarning(key string) { delete(t.warned, key) }
