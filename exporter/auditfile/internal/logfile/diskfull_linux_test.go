//go:build linux

package logfile

import (
	"bytes"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A file size limit makes the kernel stop a write part-way with EFBIG, as a
// full disk does (Go ignores SIGXFSZ). The written part is cut off again, the
// error names the path, and the batch goes in whole once space is back.
func TestPartialWriteIsRolledBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	w, c := open(t, Options{Path: path, Chain: true})
	require.NoError(t, w.Write(line(0)))
	batch := append(line(1), line(2)...)
	err := writeLimited(t, w, batch, len(line(0))+len(batch)/2)

	require.ErrorIs(t, err, syscall.EFBIG)
	assert.Contains(t, err.Error(), path)
	assert.Equal(t, 1, c.errors)
	assert.Equal(t, string(line(0)), read(t, path), "no fragment of the failed batch")
	n, _, err := Verify(path, ChainPath(path))
	require.NoError(t, err)
	assert.Equal(t, 1, n)

	require.NoError(t, w.Write(batch)) // the retry
	require.NoError(t, w.Close())
	assert.Equal(t, string(line(0))+string(batch), read(t, path))
	assert.Zero(t, c.torn)
	_, _, err = Verify(path, ChainPath(path))
	assert.NoError(t, err)
}

// When the log is written but the chain cannot be, both are rolled back.
func TestChainWriteFailureRollsBackTheLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	w, _ := open(t, Options{Path: path, Chain: true})
	require.NoError(t, w.Write([]byte("{}\n")))
	chainSize := len(read(t, ChainPath(path))) // header + one hash line
	// Room for the log, not for two more hashes.
	err := writeLimited(t, w, []byte("{\"a\":1}\n{\"a\":2}\n"), chainSize+65+10)

	require.ErrorIs(t, err, syscall.EFBIG)
	assert.Equal(t, "{}\n", read(t, path))
	require.NoError(t, w.Write([]byte("{\"a\":1}\n{\"a\":2}\n")))
	require.NoError(t, w.Close())
	n, _, err := Verify(path, ChainPath(path))
	require.NoError(t, err)
	assert.Equal(t, 3, n)
}

// writeLimited writes data while no file may grow beyond limit bytes.
func writeLimited(t *testing.T, w *Writer, data []byte, limit int) error {
	t.Helper()
	var old syscall.Rlimit
	require.NoError(t, syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old))
	limited := old
	limited.Cur = uint64(limit)
	require.NoError(t, syscall.Setrlimit(syscall.RLIMIT_FSIZE, &limited))
	err := w.Write(data)
	require.NoError(t, syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old))
	return err
}

// After an external copytruncate the writer's idea of the size is past the
// real end. A failed write must then cut the file back to its real size
// before the write, never extend it to the old one (which would fill it
// with NUL bytes and keep the torn fragment), and the retry lands whole.
func TestFailedWriteAfterCopytruncate(t *testing.T) {
	for _, chained := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "hash_chain"}[chained], func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "audit.log")
			w, c := open(t, Options{Path: path, Chain: chained})
			first := bytes.Repeat(line(0), 4)
			require.NoError(t, w.Write(first))
			copyFile(t, path, path+".1")
			require.NoError(t, os.Truncate(path, 0))

			batch := append(append(line(1), line(2)...), line(3)...)
			err := writeLimited(t, w, batch, len(batch)/2)
			require.ErrorIs(t, err, syscall.EFBIG)
			data := read(t, path)
			assert.NotContains(t, data, "\x00", "never extended with NUL bytes")
			assert.Empty(t, data, "no fragment of the failed batch")

			require.NoError(t, w.Write(batch)) // the retry
			require.NoError(t, w.Close())
			assert.Equal(t, string(first)+string(batch), read(t, path+".1")+read(t, path), "every line exactly once")
			assert.Zero(t, c.torn)
			if chained {
				requireVerified(t, path)
			}
		})
	}
}

// The rollback itself never extends: a file truncated between the size
// check and the write is cut back only if it is longer than before.
func TestRollbackNeverExtends(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	w, _ := open(t, Options{Path: path, Chain: true})
	require.NoError(t, w.Write(bytes.Repeat(line(0), 3)))
	w.mu.Lock()
	start := w.size
	require.NoError(t, os.Truncate(path, 0)) // the race: after the check
	_, err := w.f.Write([]byte(`{"n":1,"pa`))
	require.NoError(t, err)
	w.rollbackLocked(start)
	w.mu.Unlock()
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, int64(10), fi.Size(), "not extended to the remembered size")
	assert.NotContains(t, read(t, path), "\x00")
}
