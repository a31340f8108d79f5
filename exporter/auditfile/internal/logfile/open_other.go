//go:build !unix

package logfile

import (
	"fmt"
	"os"
	"sync"
)

// openFile is the portable fallback of open_unix.go: it checks with Lstat
// before and Stat after opening (a narrow race a Unix open closes).
func openFile(path string, flag int, perm os.FileMode) (*os.File, bool, error) {
	fi, err := os.Lstat(path)
	created := os.IsNotExist(err)
	if err == nil && !fi.Mode().IsRegular() {
		return nil, false, fmt.Errorf("%s is not a regular file; refusing to use it", path)
	}
	f, err := os.OpenFile(path, flag, perm)
	if err != nil {
		return nil, false, err
	}
	if created {
		_ = f.Chmod(perm)
	}
	return f, created, nil
}

// held stands in for flock where there is none: it stops two exporters of
// one process, not two processes.
var held sync.Map

func lockFile(path string, perm os.FileMode) (*os.File, error) {
	f, _, err := openFile(path, os.O_RDWR|os.O_CREATE, perm)
	if err != nil {
		return nil, err
	}
	if _, taken := held.LoadOrStore(path, f); taken {
		f.Close()
		return nil, ErrLocked
	}
	return f, nil
}

func unlockFile(path string, f *os.File) {
	held.CompareAndDelete(path, f)
	f.Close()
}
