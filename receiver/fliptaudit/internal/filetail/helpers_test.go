package filetail

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-flipt/otelcol-flipt/internal/auditevent"
)

var (
	storageID  = component.MustNewID("file_storage")
	receiverID = component.MustNewID("flipt_audit")
)

// host is a collector host holding the given extensions.
type host map[component.ID]component.Component

func (h host) GetExtensions() map[component.ID]component.Component { return h }

// newFileStorage starts contrib's file_storage extension in a temp dir.
func newFileStorage(t testing.TB) storage.Extension {
	t.Helper()
	f := filestorage.NewFactory()
	cfg := f.CreateDefaultConfig().(*filestorage.Config)
	cfg.Directory = t.TempDir()
	cfg.Compaction.Directory = cfg.Directory
	ext, err := f.Create(context.Background(), extensiontest.NewNopSettings(f.Type()), cfg)
	require.NoError(t, err)
	require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, ext.Shutdown(context.Background())) })
	return ext.(storage.Extension)
}

// spyStorage passes everything to a real storage extension and keeps the
// checkpoints as last written, so tests can see what was stored when, and
// counts the values written.
type spyStorage struct {
	storage.Extension
	mu     sync.Mutex
	saved  map[string]checkpoint // by slot key
	writes int                   // values set or deleted
}

func (s *spyStorage) GetClient(ctx context.Context, kind component.Kind, id component.ID, name string) (storage.Client, error) {
	c, err := s.Extension.GetClient(ctx, kind, id, name)
	return &spyClient{Client: c, spy: s}, err
}

// offsets returns the stored offset of each file by path, and how many
// values were written so far.
func (s *spyStorage) offsets() (map[string]int64, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int64{}
	for _, c := range s.saved {
		out[c.Path] = c.Offset
	}
	return out, s.writes
}

type spyClient struct {
	storage.Client
	spy *spyStorage
}

func (c *spyClient) Set(ctx context.Context, key string, value []byte) error {
	return c.Batch(ctx, storage.SetOperation(key, value))
}

func (c *spyClient) Delete(ctx context.Context, key string) error {
	return c.Batch(ctx, storage.DeleteOperation(key))
}

func (c *spyClient) Batch(ctx context.Context, ops ...*storage.Operation) error {
	if err := c.Client.Batch(ctx, ops...); err != nil {
		return err
	}
	c.spy.mu.Lock()
	defer c.spy.mu.Unlock()
	if c.spy.saved == nil {
		c.spy.saved = map[string]checkpoint{}
	}
	for _, op := range ops {
		switch {
		case op.Type == storage.Get:
			continue
		case op.Type == storage.Delete:
			delete(c.spy.saved, op.Key)
		case strings.HasPrefix(op.Key, slotKeyPrefix):
			var cp checkpoint
			if err := json.Unmarshal(op.Value, &cp); err != nil {
				return err
			}
			c.spy.saved[op.Key] = cp
		}
		c.spy.writes++
	}
	return nil
}

// record is what a test sees of a consumed record.
type record struct {
	line   string // the event in Flipt's json log encoding
	path   string
	name   string
	source string
}

// sink is the consumer; it refuses the first failures calls.
type sink struct {
	mu       sync.Mutex
	records  []record
	batches  []int
	calls    int
	failures int
	// onRefuse runs when a batch is refused.
	onRefuse func()
	// before, if set, runs before a batch is looked at.
	before func(ctx context.Context)
}

func (s *sink) consume(ctx context.Context, ld plog.Logs) error {
	if s.before != nil {
		s.before(ctx)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.calls <= s.failures {
		if s.onRefuse != nil {
			s.onRefuse()
		}
		return errRefused
	}
	if ld.ResourceLogs().Len() != 1 || ld.ResourceLogs().At(0).ScopeLogs().Len() != 1 {
		panic("a batch must hold one ResourceLogs with one ScopeLogs")
	}
	lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	s.batches = append(s.batches, lrs.Len())
	for _, lr := range lrs.All() {
		body, ok := auditevent.Body(lr)
		if !ok {
			panic("not an audit record")
		}
		path, _ := lr.Attributes().Get(AttrLogFilePath)
		name, _ := lr.Attributes().Get(AttrLogFileName)
		source, _ := lr.Attributes().Get(auditevent.AttrSource)
		s.records = append(s.records, record{
			line:   string(auditevent.Append(nil, body, auditevent.FormatJSON)),
			path:   path.Str(),
			name:   name.Str(),
			source: source.Str(),
		})
	}
	return nil
}

func (s *sink) snapshot() []record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]record(nil), s.records...)
}

func (s *sink) lines() []string {
	var out []string
	for _, r := range s.snapshot() {
		out = append(out, r.line)
	}
	return out
}

type refusedError struct{}

func (refusedError) Error() string { return "pipeline refused the batch" }

var errRefused error = refusedError{}

// skipped is one onSkip call.
type skipped struct {
	path string
	line int
	err  error
}

type skips struct {
	mu   sync.Mutex
	list []skipped
}

func (s *skips) add(path string, line int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.list = append(s.list, skipped{path, line, err})
}

func (s *skips) snapshot() []skipped {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]skipped(nil), s.list...)
}

// run is a started tailer with its consumer and skip recorder.
type run struct {
	*Tailer
	sink  *sink
	skips *skips
}

// start starts a tailer on cfg (with a fast poll) and shuts it down at the
// end of the test unless the test already did.
func start(t *testing.T, cfg Config, h host, s *sink, opts ...func(*Tailer)) *run {
	t.Helper()
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 5 * time.Millisecond
	}
	if cfg.MaxBatchLines == 0 {
		cfg.MaxBatchLines = 1000
	}
	if cfg.StartAt == "" {
		cfg.StartAt = StartAtBeginning
	}
	if cfg.MaxConcurrentFiles == 0 {
		cfg.MaxConcurrentFiles = DefaultMaxConcurrentFiles
	}
	if s == nil {
		s = &sink{}
	}
	r := &run{sink: s, skips: &skips{}}
	r.Tailer = New(&cfg, componenttest.NewNopTelemetrySettings(), receiverID, s.consume, r.skips.add)
	for _, opt := range opts {
		opt(r.Tailer)
	}
	require.NoError(t, r.Start(context.Background(), h))
	t.Cleanup(func() { require.NoError(t, r.Shutdown(context.Background())) })
	return r
}

func (r *run) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, r.Shutdown(context.Background()))
}

// waitRecords waits until n records arrived.
func (r *run) waitRecords(t *testing.T, n int) []record {
	t.Helper()
	eventually(t, func() bool { return len(r.sink.snapshot()) >= n }, "%d records", n)
	return r.sink.snapshot()
}

// waitPolls waits until the tailer completed n more polls, so a test can
// check that something did not happen.
func (r *run) waitPolls(t *testing.T, n int64) {
	t.Helper()
	target := r.polls.Load() + n
	eventually(t, func() bool { return r.polls.Load() >= target }, "%d polls", n)
}

func eventually(t *testing.T, cond func() bool, format string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for "+format, args...)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// newLog writes content to audit.log in a new temp dir.
func newLog(t *testing.T, content []byte) (dir, path string) {
	t.Helper()
	dir = t.TempDir()
	path = filepath.Join(dir, "audit.log")
	require.NoError(t, os.WriteFile(path, content, 0o600))
	return dir, path
}

func appendFile(t *testing.T, path string, data []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	require.NoError(t, err)
	_, err = f.Write(data)
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

// joinLines turns lines into file content, each with its newline.
func joinLines(lines ...[]byte) []byte {
	var out []byte
	for _, l := range lines {
		out = append(append(out, l...), '\n')
	}
	return out
}

// countByContent maps each line to how often it was delivered.
func countByContent(lines []string) map[string]int {
	out := map[string]int{}
	for _, l := range lines {
		out[l]++
	}
	return out
}
