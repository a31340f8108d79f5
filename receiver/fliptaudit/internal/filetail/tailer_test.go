package filetail

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"

	"github.com/otelcol-flipt/otelcol-flipt/internal/auditevent"
	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
)

// captured returns the 53 lines of the captured audit.log as strings.
func captured(t *testing.T) ([][]byte, []string) {
	lines := fliptcapture.Lines(t, "audit.log")
	require.Len(t, lines, 53)
	want := make([]string, len(lines))
	for i, l := range lines {
		want[i] = string(l)
	}
	return lines, want
}

func TestReadsCapturedLogInBothEncodings(t *testing.T) {
	_, want := captured(t)
	for name, content := range map[string][]byte{
		"json":    fliptcapture.AuditLog(t),
		"console": fliptcapture.ConsoleLog(t),
	} {
		t.Run(name, func(t *testing.T) {
			dir, path := newLog(t, content)
			r := start(t, Config{Include: []string{filepath.Join(dir, "*.log")}, MaxBatchLines: 10}, nil, nil)

			recs := r.waitRecords(t, 53)
			r.waitPolls(t, 2)
			assert.Equal(t, want, r.sink.lines(), "records encode back to the exact lines, in order")
			for _, rec := range recs {
				assert.Equal(t, path, rec.path)
				assert.Equal(t, "audit.log", rec.name)
				assert.Equal(t, auditevent.SourceFile, rec.source)
			}
			assert.Equal(t, []int{10, 10, 10, 10, 10, 3}, r.sink.batches)
			assert.Empty(t, r.skips.snapshot())
		})
	}
}

func TestPicksUpAppends(t *testing.T) {
	lines, want := captured(t)
	_, path := newLog(t, joinLines(lines[:10]...))
	r := start(t, Config{Include: []string{path}}, nil, nil)
	r.waitRecords(t, 10)
	for _, l := range lines[10:] {
		appendFile(t, path, joinLines(l))
	}
	r.waitRecords(t, 53)
	r.waitPolls(t, 2)
	assert.Equal(t, want, r.sink.lines())
}

func TestRestartResumesWithoutLossOrDuplicate(t *testing.T) {
	lines, want := captured(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.log")
	st := newFileStorage(t)
	h := host{storageID: st}
	cfg := Config{Include: []string{path}, Storage: &storageID}

	// The first run stops with a torn line at the end of the file.
	require.NoError(t, os.WriteFile(path, joinLines(lines[:20]...), 0o600))
	appendFile(t, path, lines[20][:30])
	first := start(t, cfg, h, nil)
	first.waitRecords(t, 20)
	first.waitPolls(t, 2)
	first.stop(t)

	appendFile(t, path, append(lines[20][30:], '\n'))
	appendFile(t, path, joinLines(lines[21:]...))
	appendFile(t, path, []byte("not an event\n"))
	second := start(t, cfg, h, nil)
	second.waitRecords(t, 33)
	eventually(t, func() bool { return len(second.skips.snapshot()) == 1 }, "a skip")
	second.waitPolls(t, 2)

	got := append(first.sink.lines(), second.sink.lines()...)
	assert.Equal(t, want, got, "every line exactly once, in order")
	assert.Len(t, first.sink.lines(), 20)
	assert.Equal(t, 54, second.skips.snapshot()[0].line, "line numbers survive the restart")

	// A third run with nothing new delivers nothing.
	second.stop(t)
	third := start(t, cfg, h, nil)
	third.waitPolls(t, 3)
	assert.Empty(t, third.sink.lines())
	assert.Empty(t, third.skips.snapshot())
}

func TestRenameAndCreateRotation(t *testing.T) {
	lines, want := captured(t)
	for name, include := range map[string]string{
		"rotated file leaves include": "audit.log",
		"rotated file still included": "audit.log*",
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "audit.log")
			r := start(t, Config{Include: []string{filepath.Join(dir, include)}}, nil, nil)

			// The writer keeps its descriptor across the rename, as a
			// process does until it reopens its log.
			w, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
			require.NoError(t, err)
			defer w.Close()
			_, err = w.Write(joinLines(lines[:10]...))
			require.NoError(t, err)
			r.waitRecords(t, 10)

			_, err = w.Write(joinLines(lines[10:20]...))
			require.NoError(t, err)
			require.NoError(t, os.Rename(path, path+".1"))
			_, err = w.Write(joinLines(lines[20:25]...))
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(path, joinLines(lines[25:45]...), 0o600))
			r.waitRecords(t, 45)
			r.waitPolls(t, 3)

			// The writer has not reopened its log yet.
			_, err = w.Write(joinLines(lines[45:]...))
			require.NoError(t, err)
			r.waitRecords(t, 53)
			r.waitPolls(t, 3)
			assert.Equal(t, countByContent(want), countByContent(r.sink.lines()))
			assert.Empty(t, r.skips.snapshot())
		})
	}
}

func TestRotatedAwayFileIsForgottenOnceIdle(t *testing.T) {
	lines, _ := captured(t)
	_, path := newLog(t, joinLines(lines[0]))
	appendFile(t, path, lines[1][:20])
	r := start(t, Config{Include: []string{path}}, nil, nil, func(t *Tailer) { t.forgetAfter = 0 })
	r.waitRecords(t, 1)
	require.NoError(t, os.Rename(path, path+".old"))

	// Its unterminated last line can no longer be completed: it is reported.
	eventually(t, func() bool { return len(r.skips.snapshot()) == 1 }, "a skip")
	sk := r.skips.snapshot()[0]
	assert.Equal(t, path, sk.path)
	assert.Equal(t, 2, sk.line)
	assert.ErrorIs(t, sk.err, ErrTornLine)
	appendFile(t, path+".old", joinLines(lines[2]))
	r.waitPolls(t, 3)
	assert.Len(t, r.sink.snapshot(), 1, "a forgotten file is not read")
}

func TestCopyTruncateRestartsFromTheBeginning(t *testing.T) {
	lines, _ := captured(t)
	_, path := newLog(t, joinLines(lines[:30]...))
	r := start(t, Config{Include: []string{path}}, nil, nil)
	r.waitRecords(t, 30)

	// Truncate in place, then write less than was read, with a bad line 2.
	require.NoError(t, os.Truncate(path, 0))
	appendFile(t, path, joinLines(lines[30], []byte(`{"not":"an event"}`), lines[31]))
	recs := r.waitRecords(t, 32)
	eventually(t, func() bool { return len(r.skips.snapshot()) == 1 }, "a skip")
	r.waitPolls(t, 2)
	assert.Len(t, r.sink.snapshot(), 32)
	assert.Equal(t, string(lines[30]), recs[30].line)
	assert.Equal(t, string(lines[31]), recs[31].line)
	sk := r.skips.snapshot()[0]
	assert.Equal(t, 2, sk.line, "line numbers restart with the file")
	assert.ErrorIs(t, sk.err, auditevent.ErrNotEvent)
}

func TestRewriteToTheSameSizeIsNoticed(t *testing.T) {
	lines, _ := captured(t)
	_, path := newLog(t, joinLines(lines[0]))
	r := start(t, Config{Include: []string{path}}, nil, nil)
	r.waitRecords(t, 1)
	r.waitPolls(t, 2)

	// Same inode, same size, other first bytes.
	other := bytes.ReplaceAll(lines[0], []byte("team-a"), []byte("team-z"))
	require.NotEqual(t, lines[0], other)
	require.NoError(t, os.WriteFile(path, joinLines(other), 0o600))
	recs := r.waitRecords(t, 2)
	assert.Equal(t, string(other), recs[1].line)
}

func TestRewrittenWhileDownIsReadAgain(t *testing.T) {
	// Same inode, other content: the fingerprint, not the inode, decides.
	lines, _ := captured(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.log")
	h := host{storageID: newFileStorage(t)}
	cfg := Config{Include: []string{path}, Storage: &storageID}
	require.NoError(t, os.WriteFile(path, joinLines(lines[:5]...), 0o600))
	first := start(t, cfg, h, nil)
	first.waitRecords(t, 5)
	first.stop(t)

	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	require.NoError(t, err)
	_, err = f.Write(joinLines(lines[10:30]...))
	require.NoError(t, err)
	require.NoError(t, f.Close())

	second := start(t, cfg, h, nil)
	second.waitRecords(t, 20)
	second.waitPolls(t, 2)
	assert.Len(t, second.sink.lines(), 20)
	assert.Equal(t, string(lines[10]), second.sink.lines()[0])
}

func TestTornLineWaitsForItsNewline(t *testing.T) {
	lines, _ := captured(t)
	_, path := newLog(t, joinLines(lines[0]))
	appendFile(t, path, lines[1][:40])
	r := start(t, Config{Include: []string{path}}, nil, nil)
	r.waitRecords(t, 1)
	r.waitPolls(t, 3)
	assert.Len(t, r.sink.snapshot(), 1, "a torn line is not decoded early")
	assert.Empty(t, r.skips.snapshot())

	appendFile(t, path, lines[1][40:])
	r.waitPolls(t, 3)
	assert.Len(t, r.sink.snapshot(), 1)
	appendFile(t, path, []byte("\n"))
	recs := r.waitRecords(t, 2)
	assert.Equal(t, string(lines[1]), recs[1].line)
	assert.Empty(t, r.skips.snapshot())
}

func TestRefusedBatchesAreRetriedWithoutAdvancing(t *testing.T) {
	lines, want := captured(t)
	// A bad line shows that skips are reported once.
	bad := joinLines(append(append(lines[:5:5], []byte("garbage")), lines[5:]...)...)
	_, path := newLog(t, bad)

	spy := &spyStorage{Extension: newFileStorage(t)}
	var advanced []int64
	s := &sink{failures: 4}
	s.onRefuse = func() {
		offsets, _ := spy.offsets()
		advanced = append(advanced, offsets[path])
	}
	r := start(t, Config{Include: []string{path}, Storage: &storageID, MaxBatchLines: 20}, host{storageID: spy}, s)
	r.waitRecords(t, 53)
	eventually(t, func() bool {
		offsets, _ := spy.offsets()
		return offsets[path] == int64(len(bad))
	}, "the checkpoint at the end of the file")
	r.waitPolls(t, 2)

	assert.Equal(t, want, r.sink.lines(), "nothing lost, nothing duplicated, in order")
	assert.Equal(t, []int64{0, 0, 0, 0}, advanced, "no checkpoint advanced while refused")
	assert.Equal(t, []int{19, 20, 14}, r.sink.batches)
	sk := r.skips.snapshot()
	require.Len(t, sk, 1, "a bad line in a retried batch is reported once")
	assert.Equal(t, 6, sk[0].line)
}

func TestBadLinesAreReportedAndSkipped(t *testing.T) {
	lines, _ := captured(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.log")
	content := bytes.Join([][]byte{
		lines[0],
		[]byte("plain text"),
		[]byte(`{"foo":1}`),
		nil,
		lines[1],
		[]byte(`{"version":"0.2","type":`),
		[]byte("   \r"),
		lines[2],
		[]byte(`[1,2]`),
		[]byte(""),
	}, []byte("\n"))
	require.NoError(t, os.WriteFile(path, content, 0o600))
	r := start(t, Config{Include: []string{path}}, nil, nil)
	r.waitRecords(t, 3)
	eventually(t, func() bool { return len(r.skips.snapshot()) == 4 }, "4 skips")
	r.waitPolls(t, 2)

	sk := r.skips.snapshot()
	require.Len(t, sk, 4)
	for i, want := range []int{2, 3, 6, 9} {
		assert.Equal(t, path, sk[i].path)
		assert.Equal(t, want, sk[i].line)
	}
	var syntax *auditevent.SyntaxError
	assert.ErrorAs(t, sk[0].err, &syntax)
	assert.ErrorIs(t, sk[1].err, auditevent.ErrNotEvent)
	assert.ErrorAs(t, sk[2].err, &syntax)
	assert.Len(t, r.sink.snapshot(), 3)
}

func TestGlobFindsNewFilesAndHonoursExclude(t *testing.T) {
	lines, _ := captured(t)
	dir := t.TempDir()
	a, b, skipped := filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log"), filepath.Join(dir, "skip-me.log")
	require.NoError(t, os.WriteFile(a, joinLines(lines[0]), 0o600))
	require.NoError(t, os.WriteFile(skipped, joinLines(lines[1]), 0o600))
	r := start(t, Config{
		Include: []string{filepath.Join(dir, "*.log")},
		Exclude: []string{filepath.Join(dir, "skip-*")},
	}, nil, nil)
	r.waitRecords(t, 1)

	require.NoError(t, os.WriteFile(b, joinLines(lines[2], lines[3]), 0o600))
	recs := r.waitRecords(t, 3)
	r.waitPolls(t, 3)
	require.Len(t, r.sink.snapshot(), 3)
	assert.Equal(t, a, recs[0].path)
	assert.Equal(t, string(lines[2]), recs[1].line)
	assert.Equal(t, b, recs[1].path)
	assert.Equal(t, "b.log", recs[2].name)
}

func TestOverlongLineIsSkippedWithoutBuffering(t *testing.T) {
	lines, _ := captured(t)
	long := bytes.Repeat([]byte("x"), 2<<20)
	_, path := newLog(t, joinLines(lines[0], long, lines[1]))
	// A torn overlong line is skipped once its newline arrives.
	appendFile(t, path, long)
	r := start(t, Config{Include: []string{path}, MaxLineSize: 1 << 20}, nil, nil)
	r.waitRecords(t, 2)
	eventually(t, func() bool { return len(r.skips.snapshot()) == 1 }, "a skip")
	r.waitPolls(t, 3)
	appendFile(t, path, joinLines(long[:10], lines[2]))
	r.waitRecords(t, 3)
	eventually(t, func() bool { return len(r.skips.snapshot()) == 2 }, "two skips")
	r.waitPolls(t, 2)
	r.stop(t)

	sk := r.skips.snapshot()
	require.Len(t, sk, 2)
	assert.Equal(t, 2, sk[0].line)
	assert.Equal(t, 4, sk[1].line)
	for _, s := range sk {
		assert.ErrorIs(t, s.err, ErrLineTooLong)
	}
	assert.Equal(t, string(lines[2]), r.sink.snapshot()[2].line)
	assert.LessOrEqual(t, cap(r.lines.buf), 1<<20+readBufferSize, "an overlong line is not buffered")
}

func TestStartAtEndSkipsExistingLinesOnly(t *testing.T) {
	lines, _ := captured(t)
	dir, path := newLog(t, joinLines(lines[:10]...))
	r := start(t, Config{Include: []string{filepath.Join(dir, "*.log")}, StartAt: StartAtEnd}, nil, nil)
	r.waitPolls(t, 2)
	appendFile(t, path, joinLines([]byte("bad"), lines[10]))
	// A file created after the first poll is read from its beginning.
	other := filepath.Join(dir, "other.log")
	require.NoError(t, os.WriteFile(other, joinLines(lines[11]), 0o600))
	recs := r.waitRecords(t, 2)
	eventually(t, func() bool { return len(r.skips.snapshot()) == 1 }, "a skip")
	r.waitPolls(t, 2)

	assert.Equal(t, countByContent([]string{string(lines[10]), string(lines[11])}), countByContent(r.sink.lines()))
	assert.Len(t, recs, 2)
	assert.Equal(t, 11, r.skips.snapshot()[0].line)
}

func TestBatchAcceptedDuringShutdownIsCheckpointed(t *testing.T) {
	_, want := captured(t)
	_, path := newLog(t, fliptcapture.AuditLog(t))
	h := host{storageID: newFileStorage(t)}
	cfg := Config{Include: []string{path}, Storage: &storageID, MaxBatchLines: 30}

	// The consumer holds the first batch until Shutdown has begun, then
	// accepts it.
	inConsume := make(chan struct{})
	var once sync.Once
	s := &sink{before: func(ctx context.Context) {
		once.Do(func() {
			close(inConsume)
			<-ctx.Done()
		})
	}}
	first := start(t, cfg, h, s)
	<-inConsume
	first.stop(t)
	require.Equal(t, want[:30], first.sink.lines())

	second := start(t, cfg, h, nil)
	second.waitRecords(t, 23)
	second.waitPolls(t, 2)
	assert.Equal(t, want[30:], second.sink.lines())
}

func TestStartErrorsNameStorage(t *testing.T) {
	dir := t.TempDir()
	missing := component.MustNewIDWithName("file_storage", "missing")
	cfg := Config{Include: []string{filepath.Join(dir, "*.log")}, Storage: &missing, PollInterval: 1, MaxBatchLines: 1, MaxConcurrentFiles: 1}
	tl := New(&cfg, componenttest.NewNopTelemetrySettings(), receiverID, nil, nil)
	err := tl.Start(t.Context(), host{})
	require.ErrorContains(t, err, "storage:")
	require.ErrorContains(t, err, "file_storage/missing")
	require.NoError(t, tl.Shutdown(t.Context()))

	cfg.Storage = &storageID
	tl = New(&cfg, componenttest.NewNopTelemetrySettings(), receiverID, nil, nil)
	err = tl.Start(t.Context(), host{storageID: notStorage{}})
	require.ErrorContains(t, err, "storage:")
	require.ErrorContains(t, err, "not a storage extension")
}

func TestShutdownWithoutStart(t *testing.T) {
	cfg := NewDefaultConfig()
	tl := New(&cfg, componenttest.NewNopTelemetrySettings(), receiverID, nil, nil)
	require.NoError(t, tl.Shutdown(t.Context()))
}

type notStorage struct{}

func (notStorage) Start(context.Context, component.Host) error { return nil }
func (notStorage) Shutdown(context.Context) error              { return nil }

// The default line limit is the largest event Flipt can write, as the
// webhook's body limit: a 2 MiB event (over the old 1 MiB line limit) is
// read, not skipped.
func TestDefaultLineLimitTakesLargeEvents(t *testing.T) {
	lines, _ := captured(t)
	big := bytes.Replace(lines[0], []byte(`"payload":{`), []byte(`"payload":{"big":"`+strings.Repeat("y", 2<<20)+`",`), 1)
	require.NotEqual(t, lines[0], big)
	_, path := newLog(t, joinLines(big, lines[1]))
	cfg := NewDefaultConfig()
	cfg.Include = []string{path}
	r := start(t, cfg, nil, nil)
	r.waitRecords(t, 2)
	r.stop(t)
	assert.Empty(t, r.skips.snapshot())
	assert.Equal(t, string(big), r.sink.snapshot()[0].line)
}
