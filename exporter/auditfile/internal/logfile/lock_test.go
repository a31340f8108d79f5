package logfile

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const lockHelperEnv = "LOGFILE_LOCK_HELPER_PATH"

// TestLockHelper is the child of TestSecondProcessIsRefused: it opens a
// writer on the path, says so, and holds it until its stdin closes.
func TestLockHelper(t *testing.T) {
	path := os.Getenv(lockHelperEnv)
	if path == "" {
		t.Skip("helper process of TestSecondProcessIsRefused")
	}
	w, err := New(Options{Path: path, Perm: 0o600, Chain: true})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	if err := w.Write(line(100)); err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Println("holding")
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	if err := w.Close(); err != nil {
		os.Exit(1)
	}
	os.Exit(0)
}

// Another collector process writing the same file is refused with an error
// that says so; once it has stopped, the file can be taken over.
func TestSecondProcessIsRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a child process")
	}
	path := filepath.Join(t.TempDir(), "audit.log")
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), lockHelperEnv+"="+path)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	said, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "holding\n", said)

	w, err := New(Options{Path: path, Perm: 0o600, Chain: true})
	assert.Nil(t, w)
	require.ErrorIs(t, err, ErrLocked)
	assert.EqualError(t, err, "audit file "+path+" is locked by another process (another collector, or another audit_file exporter, holds "+
		path+".lock); two writers would break rotation and the hash chain")
	assert.Equal(t, string(line(100)), read(t, path), "the file was not touched")

	require.NoError(t, stdin.Close())
	require.NoError(t, cmd.Wait())
	w, _ = open(t, Options{Path: path, Chain: true})
	require.NoError(t, w.Write(line(101)))
	require.NoError(t, w.Close())
	n, _, err := Verify(path, ChainPath(path))
	require.NoError(t, err)
	assert.Equal(t, 2, n)
}

// Two writers in one process conflict as two processes do (flock belongs
// to the open file, not the process), and the lock is free after Close.
func TestSecondWriterInProcessIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	first, _ := open(t, Options{Path: path})
	_, err := New(Options{Path: path, Perm: 0o600})
	require.ErrorIs(t, err, ErrLocked)
	require.NoError(t, first.Close())
	second, _ := open(t, Options{Path: path})
	require.NoError(t, second.Write(line(0)))
}

// Deleting the directory with the lock file in it does not let a second
// writer in: the first takes a new lock file when it recreates the path.
func TestLockRetakenAfterDirectoryDeleted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "audit.log")
	w, _ := open(t, Options{Path: path})
	require.NoError(t, w.Write(line(0)))
	require.NoError(t, os.RemoveAll(filepath.Dir(path)))
	require.NoError(t, w.Write(line(1))) // recreates the directory, file and lock
	_, err := New(Options{Path: path, Perm: 0o600})
	assert.True(t, errors.Is(err, ErrLocked), "%v", err)
	assert.Equal(t, string(line(1)), read(t, path))
}
