package filetail

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// manyFiles writes n files of one captured line each (file i holds line
// i%53, tagged with i so every line is distinct) and returns the lines.
func manyFiles(t *testing.T, dir string, n int) map[string]bool {
	t.Helper()
	lines, _ := captured(t)
	want := make(map[string]bool, n)
	for i := range n {
		path := filepath.Join(dir, fmt.Sprintf("audit-%05d.log", i))
		line := tagged(lines[i%len(lines)], i)
		require.NoError(t, os.WriteFile(path, joinLines(line), 0o600))
		want[string(line)] = true
	}
	return want
}

// tagged makes line unique with a last field holding i (unknown fields
// are kept, after the known ones).
func tagged(line []byte, i int) []byte {
	out := append([]byte(nil), line[:len(line)-1]...)
	return append(out, fmt.Sprintf(`,"tag":"%05d"}`, i)...)
}

// openFDs counts this process's open descriptors (Linux only).
func openFDs(t *testing.T) int {
	entries, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	return len(entries)
}

// fdWatch samples the process's open descriptors until stopped and keeps
// the highest count seen.
func fdWatch(t *testing.T) (peak func() int) {
	var max atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			if n := int64(openFDs(t)); n > max.Load() {
				max.Store(n)
			}
			select {
			case <-stop:
				return
			default:
				runtime.Gosched()
			}
		}
	})
	var once sync.Once
	return func() int {
		once.Do(func() { close(stop); wg.Wait() })
		return int(max.Load())
	}
}

// 3,000 files with a bound of 32 open files: every line arrives exactly
// once, never more than 32 files are open (counted by the pool and in
// /proc/self/fd), one warning says include matches more files than the
// bound, and saving checkpoints writes one value per file read, not one
// per known file.
func TestThousandsOfFilesReadOnceWithinTheBound(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("counts descriptors in /proc/self/fd")
	}
	const n, bound = 3000, 32
	dir := t.TempDir()
	want := manyFiles(t, dir, n)
	spy := &spyStorage{Extension: newFileStorage(t)}
	h := host{storageID: spy}
	cfg := Config{Include: []string{filepath.Join(dir, "*.log")}, Storage: &storageID, MaxConcurrentFiles: bound}
	core, logs := observer.New(zapcore.WarnLevel)
	withLogs := func(tl *Tailer) { tl.set.Logger = zap.New(core) }

	baseline := openFDs(t)
	peakFDs := fdWatch(t)
	first := start(t, cfg, h, nil, withLogs)
	first.waitRecords(t, n)
	first.waitPolls(t, 3)
	procPeak := peakFDs()

	got := countByContent(first.sink.lines())
	assert.Len(t, got, n)
	for line, count := range got {
		assert.True(t, want[line], "an unexpected line")
		assert.Equal(t, 1, count, "a line delivered more than once")
	}
	assert.LessOrEqual(t, first.pool.peak.Load(), int64(bound), "files held open by the tailer")
	assert.Equal(t, int64(bound), first.pool.peak.Load(), "the bound is used, not undercut")
	// The storage's own file, the test's sampler and the runtime account
	// for a few more descriptors; 3,000 would show here.
	assert.Less(t, procPeak-baseline, bound+16, "descriptors of the process above the baseline")
	assert.Equal(t, 1, logs.FilterMessageSnippet("more files than max_concurrent_files").Len(), "warned once, not per poll")

	offsets, writes := spy.offsets()
	assert.Len(t, offsets, n)
	assert.LessOrEqual(t, writes, n+n/64+8, "about one value per file read, plus the index")

	// Ten files grow: ten values are written.
	lines, _ := captured(t)
	for i := range 10 {
		appendFile(t, filepath.Join(dir, fmt.Sprintf("audit-%05d.log", i*300)), joinLines(tagged(lines[0], n+i)))
	}
	first.waitRecords(t, n+10)
	first.waitPolls(t, 3)
	_, after := spy.offsets()
	assert.Equal(t, 10, after-writes, "values written for ten files that grew")
	first.stop(t)

	// A restart with nothing new reads nothing and writes nothing.
	_, before := spy.offsets()
	second := start(t, cfg, h, nil)
	second.waitPolls(t, 3)
	assert.Empty(t, second.sink.lines())
	assert.LessOrEqual(t, second.pool.peak.Load(), int64(bound))
	second.stop(t)
	_, after = spy.offsets()
	assert.Equal(t, before, after, "values written by a restart that found nothing new")
}

// With room for one open file, two files written in turn are both read
// to the end: the pool closes one to read the other, and reopens it by
// path when it grows.
func TestFilesTakeTurnsWhenTheBoundIsReached(t *testing.T) {
	lines, want := captured(t)
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log")
	r := start(t, Config{Include: []string{filepath.Join(dir, "*.log")}, MaxConcurrentFiles: 1}, nil, nil)
	for i, l := range lines {
		path := a
		if i%2 == 1 {
			path = b
		}
		appendFile(t, path, joinLines(l))
		if i%10 == 0 {
			r.waitRecords(t, i+1)
		}
	}
	r.waitRecords(t, len(lines))
	r.waitPolls(t, 2)
	assert.Equal(t, countByContent(want), countByContent(r.sink.lines()))
	assert.Equal(t, int64(1), r.pool.peak.Load())
}

// A file rotated away is read to its end through its descriptor, then
// closed and forgotten: the tailer holds only the new file.
func TestRotatedFileIsClosedOnceDrained(t *testing.T) {
	lines, want := captured(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.log")
	var open atomic.Int64
	r := start(t, Config{Include: []string{path}}, nil, nil,
		func(tl *Tailer) { tl.forgetAfter = 0 },
		func(tl *Tailer) { tl.pool.onChange = func(d int64) { open.Add(d) } })
	w, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	require.NoError(t, err)
	defer w.Close()
	_, err = w.Write(joinLines(lines[:30]...))
	require.NoError(t, err)
	r.waitRecords(t, 30)
	require.NoError(t, os.Rename(path, path+".1"))
	require.NoError(t, os.WriteFile(path, joinLines(lines[30:]...), 0o600))
	r.waitRecords(t, len(lines))
	eventually(t, func() bool { return open.Load() == 1 }, "only the new file open")
	r.waitPolls(t, 2)
	assert.Equal(t, int64(1), open.Load())
	assert.Equal(t, countByContent(want), countByContent(r.sink.lines()))
}

func TestMaxConcurrentFilesIsValidated(t *testing.T) {
	cfg := Config{Include: []string{"/x/*.log"}, PollInterval: 1, MaxBatchLines: 1, MaxConcurrentFiles: -1}
	tl := New(&cfg, componenttest.NewNopTelemetrySettings(), receiverID, nil, nil)
	require.ErrorContains(t, tl.Start(t.Context(), host{}), "max_concurrent_files: must be positive")
}

// With the bound reached, the pool closes files it can reopen by path,
// never one rotated away whose writer still writes to it: its lines
// written after the rename arrive too.
func TestRotatedFileKeepsItsDescriptorWhenTheBoundIsReached(t *testing.T) {
	lines, want := captured(t)
	dir := t.TempDir()
	z := filepath.Join(dir, "z.log") // read after a.log and b.log in a poll
	r := start(t, Config{Include: []string{filepath.Join(dir, "*.log")}, MaxConcurrentFiles: 2}, nil, nil)
	w, err := os.OpenFile(z, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	require.NoError(t, err)
	defer w.Close()
	_, err = w.Write(joinLines(lines[:10]...))
	require.NoError(t, err)
	r.waitRecords(t, 10)

	require.NoError(t, os.Rename(z, filepath.Join(dir, "z.old")))
	_, err = w.Write(joinLines(lines[10:20]...))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.log"), joinLines(lines[20:35]...), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "b.log"), joinLines(lines[35:]...), 0o600))
	r.waitRecords(t, len(lines))
	r.waitPolls(t, 3)
	assert.Equal(t, countByContent(want), countByContent(r.sink.lines()))
	assert.LessOrEqual(t, r.pool.peak.Load(), int64(2))
}
