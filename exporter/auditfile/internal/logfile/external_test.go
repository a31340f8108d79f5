package logfile

import (
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gzipFile compresses path to path.gz and removes path, as logrotate's
// compress does.
func gzipFile(t *testing.T, path string) {
	t.Helper()
	in, err := os.Open(path)
	require.NoError(t, err)
	out, err := os.Create(path + ".gz")
	require.NoError(t, err)
	zw := gzip.NewWriter(out)
	_, err = io.Copy(zw, in)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	require.NoError(t, out.Close())
	in.Close()
	require.NoError(t, os.Remove(path))
}

// copyFile copies src to dst, as logrotate's copytruncate does.
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	data, err := os.ReadFile(src)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(dst, data, 0o600))
}

// requireVerified runs the discovering verifier on path and fails on any
// FAIL; it returns the findings.
func requireVerified(t *testing.T, path string) []Finding {
	t.Helper()
	fs, err := VerifyPath(path)
	require.NoError(t, err)
	for _, f := range fs {
		t.Log(f)
	}
	require.False(t, Failed(fs), "findings: %v", fs)
	return fs
}

// logrotate's default scheme (rename, then create a new file, then compress
// the older ones) between writes, with the exporter running: every line is
// in exactly one file, in order, and the chain across the renamed and
// compressed files verifies.
func TestLogrotateMoveAndCreate(t *testing.T) {
	for _, create := range []bool{true, false} {
		t.Run(map[bool]string{true: "create", false: "nocreate"}[create], func(t *testing.T) {
			clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
			path := filepath.Join(t.TempDir(), "audit.log")
			w, c := open(t, Options{Path: path, Chain: true, Now: clk.now})
			var want string
			n := 0
			write := func(k int) {
				for range k {
					require.NoError(t, w.Write(line(n)))
					want += string(line(n))
					n++
					clk.add(time.Second)
				}
			}
			rotate := func() { // logrotate with compress and delaycompress
				for i := 3; i >= 2; i-- {
					if from := fmt.Sprintf("%s.%d.gz", path, i); exists(from) {
						require.NoError(t, os.Rename(from, fmt.Sprintf("%s.%d.gz", path, i+1)))
					}
				}
				if exists(path + ".1") {
					require.NoError(t, os.Rename(path+".1", path+".2"))
					gzipFile(t, path+".2")
				}
				require.NoError(t, os.Rename(path, path+".1"))
				if create {
					require.NoError(t, os.WriteFile(path, nil, 0o600))
				}
			}
			write(3)
			rotate()
			write(2)
			rotate()
			write(4)
			rotate()
			write(1)
			require.NoError(t, w.Close())

			got := read(t, path+".3.gz") + read(t, path+".2.gz") + read(t, path+".1") + read(t, path)
			assert.Equal(t, want, got, "every line exactly once, in order")
			assert.Zero(t, c.broken, "an external rotation is not tampering")
			fs := requireVerified(t, path)
			var files []string
			for _, f := range fs {
				if f.Level == "OK" {
					files = append(files, filepath.Base(f.Path))
				}
			}
			assert.Equal(t, []string{"audit.log.3.gz", "audit.log.2.gz", "audit.log.1", "audit.log"}, files,
				"each externally rotated file matched to its chain segment, oldest first")
		})
	}
}

// logrotate's copytruncate: the file is copied and truncated in place
// between writes. The copy holds the old segment, the truncated file the
// new one, and the chain links them.
func TestLogrotateCopytruncate(t *testing.T) {
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	path := filepath.Join(t.TempDir(), "audit.log")
	w, c := open(t, Options{Path: path, Chain: true, Now: clk.now})
	var want string
	for i := range 6 {
		require.NoError(t, w.Write(line(i)))
		want += string(line(i))
		clk.add(time.Second)
		if i == 2 {
			copyFile(t, path, path+".1")
			require.NoError(t, os.Truncate(path, 0))
		}
	}
	require.NoError(t, w.Close())
	assert.Equal(t, want, read(t, path+".1")+read(t, path))
	assert.NotContains(t, read(t, path), "\x00", "never extended with NUL bytes")
	assert.Zero(t, c.broken)
	requireVerified(t, path)
}

// Rotated by something else while the collector was stopped: the new
// start finds an empty (or no) file beside a full chain and starts a new,
// linked segment instead of reporting tampering.
func TestExternalRotationWhileStopped(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	w, _ := open(t, Options{Path: path, Chain: true})
	require.NoError(t, w.Write(append(line(0), line(1)...)))
	require.NoError(t, w.Close())
	require.NoError(t, os.Rename(path, path+".1"))

	w, c := open(t, Options{Path: path, Chain: true})
	require.NoError(t, w.Write(line(2)))
	require.NoError(t, w.Close())
	assert.Zero(t, c.broken)
	assert.Equal(t, string(line(0))+string(line(1))+string(line(2)), read(t, path+".1")+read(t, path))
	requireVerified(t, path)
}

// The lines written between logrotate's copy and its truncate are lost
// (what copytruncate risks by design): the chain reports it, at the copy.
func TestCopytruncateLossIsReported(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	w, _ := open(t, Options{Path: path, Chain: true})
	require.NoError(t, w.Write(line(0)))
	copyFile(t, path, path+".1")
	require.NoError(t, w.Write(line(1))) // after the copy, before the truncate
	require.NoError(t, os.Truncate(path, 0))
	require.NoError(t, w.Write(line(2)))
	require.NoError(t, w.Close())
	fs, err := VerifyPath(path)
	require.NoError(t, err)
	require.True(t, Failed(fs), "%v", fs)
	assert.Contains(t, fs, Finding{Level: "FAIL", Path: path + ".1",
		Msg: "the hash chain has 2 entries but the log only 1 lines (lines 2 to 2 removed from the end)"})
}

func TestVerifyPathNamesUncoveredFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	w, _ := open(t, Options{Path: path, Chain: true})
	require.NoError(t, w.Write(line(0)))
	require.NoError(t, w.Close())
	require.NoError(t, os.WriteFile(path+".1", line(7), 0o600)) // a file no chain covers
	fs, err := VerifyPath(path)
	require.NoError(t, err)
	require.True(t, Failed(fs))
	var fail Finding
	for _, f := range fs {
		if f.Level == "FAIL" {
			fail = f
		}
	}
	assert.Equal(t, path+".1", fail.Path)
	assert.True(t, strings.HasPrefix(fail.Msg, "not covered by any hash chain"), fail.Msg)
}

// A path without an extension: the exporter's rotated files start with the
// same name and must not be taken for foreign ones.
func TestVerifyPathWithoutExtension(t *testing.T) {
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	path := filepath.Join(t.TempDir(), "audit")
	w, _ := open(t, Options{Path: path, MaxBytes: 100, Compress: true, Chain: true, Now: clk.now})
	for i := range 3 {
		require.NoError(t, w.Write(line(i)))
		clk.add(time.Second)
	}
	require.NoError(t, os.Rename(path, path+".1")) // and one logrotate rotation
	require.NoError(t, w.Write(line(3)))
	require.NoError(t, w.Close())
	require.NoError(t, w.Maintain())
	fs := requireVerified(t, path)
	assert.Len(t, fs, 4, "%v", fs)
}

// Retention applies to the chains kept for externally rotated files too,
// oldest first; what is left still verifies, the oldest prev as a note.
func TestRetentionOfKeptChains(t *testing.T) {
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	path := filepath.Join(t.TempDir(), "audit.log")
	w, _ := open(t, Options{Path: path, Chain: true, MaxBackups: 2, Now: clk.now})
	for i := range 4 {
		require.NoError(t, w.Write(line(i)))
		clk.add(time.Hour)
		require.NoError(t, os.Rename(path, fmt.Sprintf("%s.%d", path, 4-i)))
	}
	require.NoError(t, w.Write(line(4))) // notices the last move
	require.NoError(t, w.Close())
	require.NoError(t, w.Maintain())
	chains, err := filepath.Glob(filepath.Join(filepath.Dir(path), "audit-*.log.sha256chain"))
	require.NoError(t, err)
	assert.Len(t, chains, 2, "max_backups kept chains: %v", chains)
	// logrotate's own retention deletes its oldest files likewise.
	require.NoError(t, os.Remove(path+".4"))
	require.NoError(t, os.Remove(path+".3"))
	fs := requireVerified(t, path)
	assert.Equal(t, "NOTE", fs[0].Level)
	assert.Equal(t, path+".2", fs[0].Path)
}
