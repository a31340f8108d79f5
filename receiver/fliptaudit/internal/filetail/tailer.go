package filetail

import (
	"context"
	"errors"
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
	// Limits bound the structure of each decoded line; set before Start.
	Limits auditevent.Limits

	mu      sync.Mutex // guards the lifecycle fields below
	cancel  context.CancelFunc
	done    chan struct{}
	stopped bool

	// Owned by the run goroutine, and by Shutdown once it has ended.
	client     storage.Client
	files      map[fileID]*file
	known      map[fileID]checkpoint // stored, not yet matched to a file
	firstPoll  bool
	startAtEnd bool
	lines      lineReader
	warned     map[string]string
	dirty      bool
	// forgetAfter is the package constant, shortened by tests.
	forgetAfter time.Duration

	polls atomic.Int64 // completed polls, for tests
}

// New returns a tailer; nothing happens until Start. onSkip, which may be
// nil, is called once for each line that is skipped (not an audit event,
// malformed, or too long) with the file's path and the 1-based line number.
func New(cfg *Config, set component.TelemetrySettings, id component.ID, consume func(ctx context.Context, ld plog.Logs) error, onSkip func(path string, line int, err error)) *Tailer {
	if onSkip == nil {
		onSkip = func(string, int, error) {}
	}
	return &Tailer{
		cfg: *cfg, set: set, id: id, consume: consume, onSkip: onSkip,
		files: map[fileID]*file{}, warned: map[string]string{},
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
	known, err := loadCheckpoints(ctx, client)
	if err != nil {
		if client != nil {
			_ = client.Close(ctx)
		}
		return err
	}
	t.client, t.known = client, known
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
	for _, fl := range t.files {
		_ = fl.f.Close()
	}
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
// and idle. It reports whether the consumer refused a batch.
func (t *Tailer) poll(ctx context.Context) (refused bool) {
	seen := map[fileID]bool{}
	for _, path := range t.discover() {
		if id, ok := t.track(path); ok {
			seen[id] = true
		}
	}
	if t.firstPoll {
		// Checkpoints of files no longer found are dropped now.
		t.firstPoll, t.known, t.dirty = false, nil, true
	}
	now := time.Now()
	for _, fl := range t.sortedFiles() {
		switch {
		case seen[fl.id]:
			fl.missing = time.Time{}
		case fl.missing.IsZero():
			fl.missing = now
		}
		read, err := t.drain(ctx, fl)
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
	if t.dirty {
		t.saveOrWarn(context.WithoutCancel(ctx))
	}
	return refused
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// save stores the checkpoints of the tracked files, and of stored ones not
// yet matched to a file.
func (t *Tailer) save(ctx context.Context) error {
	list := make([]checkpoint, 0, len(t.files)+len(t.known))
	for _, fl := range t.sortedFiles() {
		list = append(list, fl.checkpoint())
	}
	for _, c := range t.known {
		list = append(list, c)
	}
	if err := saveCheckpoints(ctx, t.client, list); err != nil {
		return err
	}
	t.dirty = false
	return nil
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
