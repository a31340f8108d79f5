//go:build unix

package logfile

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// openFile opens path without following a symbolic link in its last
// component and only if it is a regular file, so the exporter never writes
// through a link or into a device, FIFO or socket planted at its path. With
// os.O_CREATE it creates the file exclusively first, and only a file it
// created gets perm (fchmod, past the umask); an existing file keeps its mode.
func openFile(path string, flag int, perm os.FileMode) (f *os.File, created bool, err error) {
	// O_NONBLOCK: opening a FIFO must not wait for a peer (it is refused
	// below anyway); it is cleared again for the regular file.
	base := flag&^(os.O_CREATE|os.O_EXCL) | syscall.O_NOFOLLOW | syscall.O_CLOEXEC | syscall.O_NOCTTY | syscall.O_NONBLOCK
	fd := -1
	if flag&os.O_CREATE != 0 {
		fd, err = syscall.Open(path, base|syscall.O_CREAT|syscall.O_EXCL, uint32(perm.Perm()))
		created = err == nil
		if err != nil && (flag&os.O_EXCL != 0 || !errors.Is(err, syscall.EEXIST)) {
			return nil, false, openError(path, err)
		}
	}
	if fd < 0 {
		if fd, err = syscall.Open(path, base, 0); err != nil {
			return nil, false, openError(path, err)
		}
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		syscall.Close(fd)
		return nil, false, &os.PathError{Op: "fstat", Path: path, Err: err}
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		syscall.Close(fd)
		return nil, false, fmt.Errorf("%s is %s, not a regular file; refusing to use it", path, kindOf(uint32(st.Mode)))
	}
	if err := syscall.SetNonblock(fd, false); err != nil {
		syscall.Close(fd)
		return nil, false, &os.PathError{Op: "fcntl", Path: path, Err: err}
	}
	f = os.NewFile(uintptr(fd), path)
	if created && os.FileMode(st.Mode).Perm() != perm.Perm() {
		if err := f.Chmod(perm.Perm()); err != nil { // the umask narrowed it
			f.Close()
			return nil, false, err
		}
	}
	return f, created, nil
}

func openError(path string, err error) error {
	// Linux answers ELOOP for O_NOFOLLOW on a link, the BSDs EMLINK.
	if errors.Is(err, syscall.ELOOP) || errors.Is(err, syscall.EMLINK) {
		if fi, lerr := os.Lstat(path); lerr == nil && fi.Mode()&os.ModeSymlink != 0 {
			return fmt.Errorf("%s is a symbolic link; refusing to write through it", path)
		}
	}
	return &os.PathError{Op: "open", Path: path, Err: err}
}

func kindOf(mode uint32) string {
	switch mode & syscall.S_IFMT {
	case syscall.S_IFDIR:
		return "a directory"
	case syscall.S_IFCHR, syscall.S_IFBLK:
		return "a device"
	case syscall.S_IFIFO:
		return "a FIFO"
	case syscall.S_IFSOCK:
		return "a socket"
	case syscall.S_IFLNK:
		return "a symbolic link"
	}
	return "not a regular file"
}

// lockFile takes an exclusive, non-blocking flock on the lock file at path
// (created if missing). flock locks belong to the open file description, so
// a second exporter in the same process conflicts just like another process.
func lockFile(path string, perm os.FileMode) (*os.File, error) {
	f, _, err := openFile(path, os.O_RDWR|os.O_CREATE, perm)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, ErrLocked
		}
		return nil, &os.PathError{Op: "flock", Path: path, Err: err}
	}
	return f, nil
}

// unlockFile releases the lock (closing the descriptor drops the flock).
func unlockFile(_ string, f *os.File) { f.Close() }
