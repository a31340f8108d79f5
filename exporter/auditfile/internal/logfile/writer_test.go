package logfile

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type counts struct{ rotated, errors, torn, broken int }

func open(t *testing.T, opts Options) (*Writer, *counts) {
	t.Helper()
	c := &counts{}
	opts.Events = Events{
		Rotated:     func() { c.rotated++ },
		WriteError:  func() { c.errors++ },
		TornTail:    func() { c.torn++ },
		ChainBroken: func() { c.broken++ },
	}
	if opts.Perm == 0 {
		opts.Perm = 0o600
	}
	w, err := New(opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = w.Close() })
	return w, c
}

func line(i int) []byte {
	return fmt.Appendf(nil, `{"n":%d,"pad":"%s"}`+"\n", i, strings.Repeat("x", 80))
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		require.NoError(t, err, path)
		b, err = io.ReadAll(zr)
		require.NoError(t, err, path)
	}
	return string(b)
}

// all returns the content of the backups, oldest first, then the active file.
func all(t *testing.T, w *Writer) string {
	bs, err := w.Backups()
	require.NoError(t, err)
	var out string
	for i := len(bs) - 1; i >= 0; i-- {
		out += read(t, bs[i])
	}
	return out + read(t, w.opts.Path)
}

func TestSizeRotationKeepsBatchesWhole(t *testing.T) {
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	path := filepath.Join(t.TempDir(), "a.log")
	w, c := open(t, Options{Path: path, MaxBytes: 1000, Now: clk.now})
	var want string
	for i := range 40 {
		batch := append(line(2*i), line(2*i+1)...) // 2 lines, 194 to 196 bytes
		want += string(batch)
		require.NoError(t, w.Write(batch))
		clk.add(time.Millisecond)
	}
	require.NoError(t, w.Close())
	bs, err := w.Backups()
	require.NoError(t, err)
	assert.Len(t, bs, 7, "5 batches (under 1000 bytes) per file, 8 files")
	assert.Equal(t, 7, c.rotated)
	for _, b := range append(bs, path) {
		data := read(t, b)
		assert.LessOrEqual(t, len(data), 1000, b)
		assert.Zero(t, strings.Count(data, "\n")%2, "%s holds whole batches", b)
		fi, err := os.Stat(b)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	}
	assert.Equal(t, want, all(t, w))
}

func TestOversizedBatchGoesWholeIntoOneFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.log")
	w, _ := open(t, Options{Path: path, MaxBytes: 100})
	big := bytes.Repeat(line(1), 5)
	require.NoError(t, w.Write(line(0)))
	require.NoError(t, w.Write(big))
	require.NoError(t, w.Close())
	assert.Equal(t, string(big), read(t, path))
}

func TestRetentionMaxBackups(t *testing.T) {
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.log")
	// A file of another name in the same directory is never touched.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "other-2020-01-01T00-00-00.000.log"), nil, 0o600))
	w, _ := open(t, Options{Path: path, MaxBytes: 100, MaxBackups: 3, Chain: true, Now: clk.now})
	for i := range 10 {
		require.NoError(t, w.Write(line(i)))
		clk.add(time.Second)
	}
	require.NoError(t, w.Close()) // waits for maintenance
	require.NoError(t, w.Maintain())
	bs, err := w.Backups()
	require.NoError(t, err)
	require.Len(t, bs, 3)
	for i, b := range bs { // newest first: lines 8, 7, 6
		assert.Equal(t, string(line(8-i)), read(t, b))
		_, _, err := Verify(b, ChainPath(b))
		assert.NoError(t, err)
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1+3+3*2, "other file, active file + chain + lock, 3 backups + chains: %v", entries)
}

func TestRetentionMaxAgeAndCompression(t *testing.T) {
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	path := filepath.Join(t.TempDir(), "audit.log")
	w, _ := open(t, Options{Path: path, MaxBytes: 100, MaxAge: 90 * time.Minute, Compress: true, Chain: true, Now: clk.now})
	for i := range 5 {
		require.NoError(t, w.Write(line(i)))
		clk.add(time.Hour)
	}
	require.NoError(t, w.Close())
	require.NoError(t, w.Maintain())
	bs, err := w.Backups()
	require.NoError(t, err)
	// Rotated at 01:00, 02:00, 03:00, 04:00; now is 05:00.
	require.Len(t, bs, 1, "%v", bs)
	assert.True(t, strings.HasSuffix(bs[0], "audit-2026-01-01T04-00-00.000.log.gz"), bs[0])
	assert.Equal(t, string(line(3)), read(t, bs[0]), "valid gzip holding the lines")
	_, _, err = Verify(bs[0], ChainPath(strings.TrimSuffix(bs[0], ".gz")))
	assert.NoError(t, err, "a compressed backup verifies against its chain")
	fi, err := os.Stat(bs[0])
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	assert.Equal(t, string(line(4)), read(t, path))
}

func TestIntervalRotation(t *testing.T) {
	clk := &clock{t: time.Date(2026, 1, 1, 23, 0, 0, 0, time.UTC)}
	path := filepath.Join(t.TempDir(), "audit.log")
	w, c := open(t, Options{Path: path, Interval: 24 * time.Hour, Now: clk.now})
	require.NoError(t, w.Write(line(0)))
	clk.add(59 * time.Minute)
	require.NoError(t, w.Write(line(1)))
	assert.Equal(t, 0, c.rotated)
	clk.add(2 * time.Minute) // past midnight UTC
	require.NoError(t, w.Write(line(2)))
	assert.Equal(t, 1, c.rotated)
	require.NoError(t, w.Close())
	bs, _ := w.Backups()
	require.Len(t, bs, 1)
	assert.Equal(t, string(line(0))+string(line(1)), read(t, bs[0]))
	assert.Equal(t, string(line(2)), read(t, path))

	// After a restart a file last written on an earlier day is rotated too.
	require.NoError(t, os.Chtimes(path, clk.now(), clk.now()))
	clk.add(24 * time.Hour)
	w, c = open(t, Options{Path: path, Interval: 24 * time.Hour, Now: clk.now})
	require.NoError(t, w.Write(line(3)))
	assert.Equal(t, 1, c.rotated)
}

func TestTornTailRepairedOnOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	torn := string(line(0)) + `{"n":1,"pa`
	require.NoError(t, os.WriteFile(path, []byte(torn), 0o600))
	w, c := open(t, Options{Path: path, Chain: true})
	assert.Equal(t, 1, c.torn)
	require.NoError(t, w.Write(line(2)))
	require.NoError(t, w.Close())
	assert.Equal(t, torn+"\n"+string(line(2)), read(t, path), "fragment kept on its own line")
	n, _, err := Verify(path, ChainPath(path))
	require.NoError(t, err, "the chain covers the pre-existing lines")
	assert.Equal(t, 3, n)

	// A clean file is not touched.
	w, c = open(t, Options{Path: path})
	require.NoError(t, w.Close())
	assert.Zero(t, c.torn)
}

func TestChainRecoversLinesWrittenBeforeCrash(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	w, _ := open(t, Options{Path: path, Chain: true})
	require.NoError(t, w.Write(line(0)))
	require.NoError(t, w.Close())
	// A crash between the log write and the chain write: the chain has
	// the write's intent and a partial hash line, the log the whole batch.
	batch := append(line(1), line(3)...)
	cf, err := os.OpenFile(ChainPath(path), os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, _ = fmt.Fprintf(cf, "+%d\nabc", len(batch))
	cf.Close()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, _ = f.Write(batch)
	f.Close()
	_, _, err = Verify(path, ChainPath(path))
	require.Error(t, err)

	w, c := open(t, Options{Path: path, Chain: true})
	require.NoError(t, w.Write(line(2)))
	require.NoError(t, w.Close())
	assert.Zero(t, c.rotated)
	assert.Zero(t, c.broken)
	n, _, err := Verify(path, ChainPath(path))
	require.NoError(t, err)
	assert.Equal(t, 4, n)
}

func TestTamperedFileIsRotatedAsideOnOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	w, _ := open(t, Options{Path: path, Chain: true})
	require.NoError(t, w.Write(append(line(0), line(1)...)))
	require.NoError(t, w.Close())
	_, last, err := Verify(path, ChainPath(path))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, append(line(0), line(9)...), 0o600)) // line 2 edited

	w, c := open(t, Options{Path: path, Chain: true})
	require.NoError(t, w.Write(line(2)))
	require.NoError(t, w.Close())
	assert.Equal(t, 1, c.rotated)
	bs, _ := w.Backups()
	require.Len(t, bs, 1)
	_, _, err = Verify(bs[0], ChainPath(bs[0]))
	assert.ErrorContains(t, err, "line 2 does not match", "evidence kept unchanged")
	assert.Equal(t, string(line(0))+string(line(9)), read(t, bs[0]))
	// The new segment links to the last recorded hash of the old one.
	chain := read(t, ChainPath(path))
	assert.True(t, strings.HasPrefix(chain, chainHeader+last+"\n"), chain)
	_, _, err = Verify(path, ChainPath(path))
	assert.NoError(t, err)
}

func TestSegmentsAreLinked(t *testing.T) {
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	path := filepath.Join(t.TempDir(), "audit.log")
	w, _ := open(t, Options{Path: path, MaxBytes: 100, Chain: true, Now: clk.now})
	for i := range 3 {
		require.NoError(t, w.Write(line(i)))
		clk.add(time.Second)
	}
	require.NoError(t, w.Close())
	bs, _ := w.Backups()
	require.Len(t, bs, 2)
	prev := strings.Repeat("0", 64)
	for _, p := range []string{bs[1], bs[0], path} {
		assert.True(t, strings.HasPrefix(read(t, ChainPath(p)), chainHeader+prev+"\n"), p)
		_, last, err := Verify(p, ChainPath(p))
		require.NoError(t, err)
		prev = last
	}
}

func TestVerifyDetectsRemovedAndAddedLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	w, _ := open(t, Options{Path: path, Chain: true})
	require.NoError(t, w.Write(append(append(line(0), line(1)...), line(2)...)))
	require.NoError(t, w.Close())
	orig := read(t, path)
	for name, content := range map[string]string{
		"line removed at end": string(line(0)) + string(line(1)),
		"line removed inside": string(line(0)) + string(line(2)),
		"line appended":       orig + string(line(3)),
		"no final newline":    strings.TrimSuffix(orig, "\n"),
	} {
		require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
		_, _, err := Verify(path, ChainPath(path))
		assert.Error(t, err, name)
	}
}

func TestBufferedWritesReachFileOnFlushAndClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	w, _ := open(t, Options{Path: path, Sync: SyncOnFlush, FlushInterval: time.Hour, BufferBytes: 1000})
	require.NoError(t, w.Write(line(0)))
	assert.Empty(t, read(t, path), "held in memory until the flush")
	require.NoError(t, w.Flush())
	assert.Equal(t, string(line(0)), read(t, path))
	var want = string(line(0))
	for i := 1; i <= 12; i++ { // more than the buffer: written when full
		require.NoError(t, w.Write(line(i)))
		want += string(line(i))
	}
	assert.NotEqual(t, string(line(0)), read(t, path))
	require.NoError(t, w.Close())
	assert.Equal(t, want, read(t, path))
	assert.ErrorIs(t, w.Write(line(0)), ErrClosed)
}

func TestParseSync(t *testing.T) {
	for s, want := range map[string]Sync{"never": SyncNever, "on_flush": SyncOnFlush, "every_batch": SyncEveryBatch} {
		got, err := ParseSync(s)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
	_, err := ParseSync("always")
	assert.Error(t, err)
}
