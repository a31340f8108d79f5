package filetail

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"os"
)

// fileID names a file independently of its path, so a renamed file is
// recognised (device and inode on Unix).
type fileID struct {
	Dev uint64
	Ino uint64
}

// fingerprintSize is how many leading bytes identify a file's content. An
// inode number is reused once a file is deleted; the fingerprint tells the
// new file from the old one.
const fingerprintSize = 1024

// fingerprint is the SHA-256 of a file's first Len bytes. It is extended as
// a young file grows, up to fingerprintSize.
type fingerprint struct {
	Len int64
	Sum [sha256.Size]byte
}

// readFingerprint hashes the first min(size, fingerprintSize) bytes of f.
func readFingerprint(f *os.File, size int64) (fingerprint, error) {
	n := min(size, fingerprintSize)
	buf := make([]byte, n)
	got, err := f.ReadAt(buf, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return fingerprint{}, err
	}
	return fingerprint{Len: int64(got), Sum: sha256.Sum256(buf[:got])}, nil
}

// matches tells whether f still starts with the bytes fp was taken from.
func (fp fingerprint) matches(f *os.File) (bool, error) {
	got, err := readFingerprint(f, fp.Len)
	if err != nil {
		return false, err
	}
	return got.Len == fp.Len && bytes.Equal(got.Sum[:], fp.Sum[:]), nil
}
