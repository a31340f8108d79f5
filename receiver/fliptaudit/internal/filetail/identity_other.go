//go:build !unix

package filetail

import (
	"hash/fnv"
	"os"
)

// idOf falls back to the path where no inode is available: a renamed file
// is then a new file, and rotation is followed only by the fingerprint.
func idOf(path string, _ os.FileInfo) fileID {
	h := fnv.New64a()
	_, _ = h.Write([]byte(path))
	return fileID{Ino: h.Sum64()}
}
