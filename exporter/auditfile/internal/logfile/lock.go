package logfile

import (
	"errors"
	"fmt"
	"os"
)

// LockPath is the advisory lock file of the log file at path. The lock is on
// a file of its own rather than on the log: the log is renamed on every
// rotation (by the exporter or by logrotate), and a lock on it would move
// with the old file, leaving the new one at the path unguarded.
func LockPath(path string) string { return path + ".lock" }

// ErrLocked is matched (errors.Is) by the error of a Writer whose file is
// locked by another writer.
var ErrLocked = errors.New("audit file is locked by another process")

// LockedError says which file is locked.
type LockedError struct{ Path string }

func (e *LockedError) Error() string {
	return "audit file " + e.Path + " is locked by another process (another collector, or another audit_file exporter, holds " +
		LockPath(e.Path) + "); two writers would break rotation and the hash chain"
}

func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// lockLocked makes sure the writer holds the lock, also after the lock file
// was deleted with its directory (then a new one is locked, so a second
// writer cannot take a fresh lock file while this one writes on).
func (w *Writer) lockLocked() error {
	path := LockPath(w.opts.Path)
	if w.lock != nil {
		fi, err := os.Stat(path)
		held, herr := w.lock.Stat()
		if err == nil && herr == nil && os.SameFile(fi, held) {
			return nil
		}
		unlockFile(path, w.lock)
		w.lock = nil
	}
	f, err := lockFile(path, w.opts.Perm)
	if errors.Is(err, ErrLocked) {
		return &LockedError{Path: w.opts.Path}
	}
	if err != nil {
		return err
	}
	w.lock = f
	return nil
}

// CheckPath refuses a path that exists and is not a regular file: a
// symbolic link, a directory, a device, FIFO or socket. A missing file is
// fine (it is created).
func CheckPath(path string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil // missing, or not visible to this user: the writer reports at start
	}
	switch m := fi.Mode(); {
	case m.IsRegular():
		return nil
	case m&os.ModeSymlink != 0:
		return fmt.Errorf("%s is a symbolic link; the audit file is never written through one (give the real path)", path)
	case m.IsDir():
		return fmt.Errorf("%s is a directory, not a file", path)
	default:
		return fmt.Errorf("%s is a device, FIFO or socket, not a regular file", path)
	}
}
