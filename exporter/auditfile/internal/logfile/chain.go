package logfile

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"go.uber.org/zap"
)

// The hash chain: a sidecar text file whose first line is
//
//	sha256chain v1 prev=<64 hex digits>
//
// followed by one line of 64 hex digits per line of the log file, h_i =
// SHA-256(h_{i-1} || line_i without its newline), h_0 = prev. prev is the
// last hash of the previous (rotated) segment, or zeros, which links the
// segments. The log file itself stays byte-identical to Flipt's.

const chainHeader = "sha256chain v1 prev="

// ChainPath is the hash chain file of the log file at path.
func ChainPath(path string) string { return path + ".sha256chain" }

type chain struct {
	path string
	f    *os.File
	cur  [sha256.Size]byte
	size int64
	buf  []byte
	// state before the last add, for rollback
	prevCur  [sha256.Size]byte
	prevSize int64
}

func createChain(path string, perm os.FileMode, prev []byte) error {
	var p [sha256.Size]byte
	copy(p[:], prev)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return fmt.Errorf("create hash chain: %w", err)
	}
	_, err = f.WriteString(chainHeader + hex.EncodeToString(p[:]) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("create hash chain %s: %w", path, err)
	}
	return nil
}

// openChain opens the chain of the log at logPath and checks the log against
// it. Lines the chain does not cover yet (written just before a crash, or a
// repaired torn tail) are added to it. broken is set when the log does not
// match the chain; the chain is then still opened, so the pair can be
// rotated aside.
func openChain(logPath string, perm os.FileMode, log *zap.Logger) (c *chain, broken, err error) {
	path := ChainPath(logPath)
	if _, err := os.Stat(path); os.IsNotExist(err) {
		if err := createChain(path, perm, nil); err != nil {
			return nil, nil, err
		}
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND, perm)
	if err != nil {
		return nil, nil, fmt.Errorf("open hash chain: %w", err)
	}
	c = &chain{path: path, f: f}
	prev, hashes, valid, err := readChain(f)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("hash chain %s: %w", path, err)
	}
	if fi, err := f.Stat(); err == nil && fi.Size() > valid {
		// A partial hash line from a crash: the chain is derived data, so
		// the fragment is cut and recomputed from the log below.
		if err := f.Truncate(valid); err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("hash chain %s: %w", path, err)
		}
	}
	c.size = valid
	lf, err := os.Open(logPath)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	defer lf.Close()
	res := walk(lf, prev, hashes)
	c.cur = res.last
	if res.err != nil {
		if len(hashes) > 0 {
			c.cur = hashes[len(hashes)-1]
		}
		return c, res.err, nil
	}
	if len(res.extra) > 0 {
		for _, h := range res.extra {
			c.buf = hex.AppendEncode(c.buf, h[:])
			c.buf = append(c.buf, '\n')
		}
		if err := c.write(); err != nil {
			c.close()
			return nil, nil, err
		}
		if err := c.sync(); err != nil {
			c.close()
			return nil, nil, err
		}
		log.Warn("Added log lines missing from the hash chain (written just before a crash)",
			zap.String("path", logPath), zap.Int("lines", len(res.extra)))
	}
	return c, nil, nil
}

// add chains the lines in data and appends their hashes to the file.
func (c *chain) add(data []byte) error {
	c.prevCur, c.prevSize = c.cur, c.size
	c.buf = c.buf[:0]
	h := sha256.New()
	for len(data) > 0 {
		line, rest, _ := bytes.Cut(data, []byte{'\n'})
		data = rest
		h.Reset()
		h.Write(c.cur[:])
		h.Write(line)
		h.Sum(c.cur[:0])
		c.buf = hex.AppendEncode(c.buf, c.cur[:])
		c.buf = append(c.buf, '\n')
	}
	return c.write()
}

func (c *chain) write() error {
	n, err := c.f.Write(c.buf)
	c.size += int64(n)
	if err != nil {
		return fmt.Errorf("hash chain %s: %w", c.path, err)
	}
	return nil
}

// rollback forgets the last add, cutting its hashes from the file.
func (c *chain) rollback() {
	c.cur = c.prevCur
	if c.size != c.prevSize && c.f.Truncate(c.prevSize) == nil {
		c.size = c.prevSize
	}
}

func (c *chain) sync() error {
	if err := c.f.Sync(); err != nil {
		return fmt.Errorf("fsync hash chain %s: %w", c.path, err)
	}
	return nil
}

func (c *chain) close() { _ = c.f.Close() }

func (c *chain) last() []byte { return append([]byte(nil), c.cur[:]...) }

// readChain parses a chain file; valid is the length of its whole lines.
func readChain(r io.Reader) (prev [sha256.Size]byte, hashes [][sha256.Size]byte, valid int64, err error) {
	br := bufio.NewReader(r)
	header, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(header, chainHeader) {
		return prev, nil, 0, errors.New("missing or bad header line")
	}
	if err := decodeHash(prev[:], strings.TrimSuffix(header[len(chainHeader):], "\n")); err != nil {
		return prev, nil, 0, fmt.Errorf("header: %w", err)
	}
	valid = int64(len(header))
	for n := 2; ; n++ {
		line, err := br.ReadString('\n')
		if err == io.EOF {
			return prev, hashes, valid, nil // a partial last line is ignored
		}
		if err != nil {
			return prev, nil, 0, err
		}
		var h [sha256.Size]byte
		if err := decodeHash(h[:], line[:len(line)-1]); err != nil {
			return prev, nil, 0, fmt.Errorf("line %d: %w", n, err)
		}
		hashes = append(hashes, h)
		valid += int64(len(line))
	}
}

func decodeHash(dst []byte, s string) error {
	if len(s) != 2*sha256.Size {
		return fmt.Errorf("hash %q is not %d hex digits", s, 2*sha256.Size)
	}
	_, err := hex.Decode(dst, []byte(s))
	return err
}

type walkResult struct {
	lines int
	last  [sha256.Size]byte
	extra [][sha256.Size]byte // hashes of lines beyond the chain
	torn  bool                // the log does not end with a newline
	err   error
}

// walk recomputes the chain over the log's lines from prev and compares it
// with hashes.
func walk(log io.Reader, prev [sha256.Size]byte, hashes [][sha256.Size]byte) walkResult {
	res := walkResult{last: prev}
	br := bufio.NewReaderSize(log, 64<<10)
	h := sha256.New()
	for {
		line, err := br.ReadBytes('\n')
		if len(line) == 0 && err == io.EOF {
			break
		}
		if err != nil && err != io.EOF {
			res.err = err
			return res
		}
		if err == io.EOF {
			res.torn = true
		}
		line = bytes.TrimSuffix(line, []byte{'\n'})
		h.Reset()
		h.Write(res.last[:])
		h.Write(line)
		h.Sum(res.last[:0])
		if res.lines < len(hashes) {
			if hashes[res.lines] != res.last {
				res.err = fmt.Errorf("line %d does not match the hash chain (changed, inserted or removed)", res.lines+1)
				return res
			}
		} else {
			res.extra = append(res.extra, res.last)
		}
		res.lines++
	}
	if res.lines < len(hashes) {
		res.err = fmt.Errorf("the hash chain has %d entries but the log only %d lines (lines removed from the end)", len(hashes), res.lines)
	}
	return res
}

// Verify checks the log file (gzip-compressed if its name ends in .gz)
// against its hash chain and returns the number of lines and the last hash.
func Verify(logPath, chainPath string) (lines int, last string, err error) {
	cf, err := os.Open(chainPath)
	if err != nil {
		return 0, "", err
	}
	defer cf.Close()
	prev, hashes, _, err := readChain(cf)
	if err != nil {
		return 0, "", fmt.Errorf("%s: %w", chainPath, err)
	}
	lf, err := os.Open(logPath)
	if err != nil {
		return 0, "", err
	}
	defer lf.Close()
	var r io.Reader = lf
	if strings.HasSuffix(logPath, ".gz") {
		zr, err := gzip.NewReader(lf)
		if err != nil {
			return 0, "", fmt.Errorf("%s: %w", logPath, err)
		}
		defer zr.Close()
		r = zr
	}
	res := walk(r, prev, hashes)
	switch {
	case res.err != nil:
		err = res.err
	case len(res.extra) > 0:
		err = fmt.Errorf("%d lines at the end are not in the hash chain (added after it, or written just before a crash and not yet chained)", len(res.extra))
	case res.torn:
		err = errors.New("the last line has no newline (torn write)")
	}
	if err != nil {
		return res.lines, "", fmt.Errorf("%s: %w", logPath, err)
	}
	return res.lines, hex.EncodeToString(res.last[:]), nil
}
