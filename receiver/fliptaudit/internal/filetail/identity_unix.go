//go:build unix

package filetail

import (
	"os"
	"syscall"
)

// idOf returns the device and inode of an open file.
func idOf(_ string, fi os.FileInfo) fileID {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}
	}
	return fileID{Dev: uint64(st.Dev), Ino: uint64(st.Ino)} //nolint:unconvert // Dev's type differs between platforms
}
