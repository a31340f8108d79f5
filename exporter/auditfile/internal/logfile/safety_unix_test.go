//go:build unix

package logfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// victim is a file someone wants the exporter to chmod or append to.
func victim(t *testing.T) (path string, content string) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "victim")
	content = "root:x:0:0\n"
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
	require.NoError(t, os.Chmod(path, 0o644))
	return path, content
}

func assertUntouched(t *testing.T, path, content string) {
	t.Helper()
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), fi.Mode().Perm(), "mode of %s changed", path)
	assert.Equal(t, content, read(t, path), "content of %s changed", path)
}

// A symbolic link at the path, at the chain's path or at the lock's path
// is refused: the exporter never writes through it nor changes its
// target's mode, and says why, naming the path.
func TestSymlinksAreRefused(t *testing.T) {
	for _, at := range []func(string) string{
		func(p string) string { return p },
		ChainPath,
		LockPath,
	} {
		dir := t.TempDir()
		path := filepath.Join(dir, "audit.log")
		target, content := victim(t)
		link := at(path)
		require.NoError(t, os.Symlink(target, link))
		w, err := New(Options{Path: path, Perm: 0o600, Chain: true})
		require.Error(t, err)
		assert.ErrorContains(t, err, link+" is a symbolic link; refusing to write through it")
		err = w.Write(line(0))
		require.Error(t, err, "still refused on write")
		assert.False(t, errors.Is(err, ErrLocked))
		require.NoError(t, w.Close())
		assertUntouched(t, target, content)
	}
}

// A FIFO or a device at the path is refused at once (no hang waiting for a
// reader), and a device's mode is never changed.
func TestNonRegularFilesAreRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	require.NoError(t, syscall.Mkfifo(path, 0o600))
	done := make(chan error, 1)
	go func() {
		w, err := New(Options{Path: path, Perm: 0o600})
		if w != nil {
			_ = w.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		assert.ErrorContains(t, err, path+" is a FIFO, not a regular file")
	case <-time.After(time.Minute): // a hang, not a timing measurement
		t.Fatal("opening a FIFO hung")
	}

	before, err := os.Stat("/dev/null")
	require.NoError(t, err)
	_, _, err = openFile("/dev/null", os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	assert.ErrorContains(t, err, "/dev/null is a device, not a regular file")
	after, err := os.Stat("/dev/null")
	require.NoError(t, err)
	assert.Equal(t, before.Mode(), after.Mode())

	require.NoError(t, os.Mkdir(path+".d", 0o700))
	_, _, err = openFile(path+".d", os.O_RDONLY, 0)
	assert.ErrorContains(t, err, "is a directory, not a regular file")
}

func TestCheckPath(t *testing.T) {
	dir := t.TempDir()
	target, _ := victim(t)
	require.NoError(t, os.Symlink(target, filepath.Join(dir, "link")))
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "file"), nil, 0o600))
	for name, want := range map[string]string{
		"missing": "",
		"file":    "",
		"link":    "is a symbolic link",
		"fifo":    "is a device, FIFO or socket",
		".":       "is a directory",
	} {
		err := CheckPath(filepath.Join(dir, name))
		if want == "" {
			assert.NoError(t, err, name)
		} else {
			assert.ErrorContains(t, err, want, name)
		}
	}
	assert.ErrorContains(t, CheckPath("/dev/null"), "is a device, FIFO or socket")
}

// The mode is set only on a file the exporter creates; an existing file
// keeps its own, even a more open one (a warning says so).
func TestExistingFileKeepsItsMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	require.NoError(t, os.WriteFile(path, line(0), 0o644))
	require.NoError(t, os.Chmod(path, 0o644))
	w, _ := open(t, Options{Path: path, Perm: 0o600, Chain: true})
	require.NoError(t, w.Write(line(1)))
	require.NoError(t, w.Close())
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), fi.Mode().Perm())
	for _, p := range []string{ChainPath(path), LockPath(path)} {
		fi, err := os.Stat(p)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "%s created with the configured mode", p)
	}
}

// Compression of a rotated file does not follow a link planted at its
// temporary file's name: the link is removed, its target left alone.
func TestCompressionDoesNotFollowPlantedLinks(t *testing.T) {
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	path := filepath.Join(t.TempDir(), "audit.log")
	target, content := victim(t)
	w, _ := open(t, Options{Path: path, MaxBytes: 100, Chain: true, Now: clk.now})
	require.NoError(t, w.Write(line(0)))
	clk.add(time.Second)
	require.NoError(t, w.Write(line(1))) // rotates
	require.NoError(t, w.Close())
	bs, err := w.Backups()
	require.NoError(t, err)
	require.Len(t, bs, 1)
	require.NoError(t, os.Symlink(target, bs[0]+".gz.tmp"))

	w.opts.Compress = true
	require.NoError(t, w.Maintain())
	assertUntouched(t, target, content)
	bs, err = w.Backups()
	require.NoError(t, err)
	require.Len(t, bs, 1)
	assert.True(t, strings.HasSuffix(bs[0], ".log.gz"), bs[0])
	assert.Equal(t, string(line(0)), read(t, bs[0]))
	_, _, err = Verify(bs[0], ChainPath(bs[0][:len(bs[0])-3]))
	assert.NoError(t, err)
}
