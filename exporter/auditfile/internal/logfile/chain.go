package logfile

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"go.uber.org/zap"
)

// The hash chain: a sidecar text file whose first line is
//
//	sha256chain v2 prev=<64 hex digits>
//
// followed, for every write to the log, by an intent line "+<bytes>" (the
// size of the write about to be made) and then one line of 64 hex digits per
// line written, h_i = SHA-256(h_{i-1} || line_i without its newline), h_0 =
// prev. prev is the last hash of the previous segment, or zeros for the
// first, which links the segments. The intent is written (and with
// fsync: every_batch, fsynced) before the log, so after a crash the lines the
// chain lacks are explained only if they fit in the last announced write; any
// more were added behind the chain's back. v1 files (no intents) are read
// too. The log file itself stays byte-identical to Flipt's.

const (
	chainHeader   = "sha256chain v2 prev="
	chainHeaderV1 = "sha256chain v1 prev="
)

// ChainPath is the hash chain file of the log file at path.
func ChainPath(path string) string { return path + ".sha256chain" }

type chain struct {
	path string
	f    *os.File
	cur  [sha256.Size]byte
	buf  []byte
	// state before the last write, for rollback
	prevCur    [sha256.Size]byte
	prevSize   int64 // before the intent
	intentSize int64 // after the intent
}

// chainData is a parsed chain file.
type chainData struct {
	prev   [sha256.Size]byte
	hashes [][sha256.Size]byte
	valid  int64 // length of the whole lines
	// intent is the size of the last announced write (-1: none), made
	// after intentAt hashes.
	intent   int64
	intentAt int
}

// last is the last recorded hash (prev for an empty segment).
func (d *chainData) last() [sha256.Size]byte {
	if len(d.hashes) > 0 {
		return d.hashes[len(d.hashes)-1]
	}
	return d.prev
}

func writeHeader(f *os.File, prev []byte) error {
	var p [sha256.Size]byte
	copy(p[:], prev)
	_, err := f.WriteString(chainHeader + hex.EncodeToString(p[:]) + "\n")
	if err == nil {
		err = f.Sync()
	}
	return err
}

// chainState is what opening a chain found.
type chainState int

const (
	chainMatches     chainState = iota // the log is what the chain covers (after sealing a crashed write)
	chainMismatch                      // a line was changed, inserted or removed
	chainUnexplained                   // lines beyond the chain that no crash can explain
	chainLogReplaced                   // the log is empty, its chain is not: rotated away by something else
)

// openChain opens the chain of the log at logPath, whose content is log
// (size bytes), and checks one against the other; a missing chain is created
// with prevIfNew. Lines the chain does
// not cover yet are added to it only if they fit in the last write announced
// by an intent (written just before a crash); repaired says a torn tail was
// ended with a newline, one byte the write did not announce. For any other
// state than chainMatches, problem says what was found and the chain is
// still opened, positioned on its last recorded hash, so the caller can
// rotate the pair aside.
func openChain(logPath string, log io.ReaderAt, size int64, perm os.FileMode, prevIfNew []byte, repaired bool, zl *zap.Logger) (c *chain, state chainState, problem, err error) {
	path := ChainPath(logPath)
	f, created, err := openFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, perm)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("open hash chain: %w", err)
	}
	if created {
		if err := writeHeader(f, prevIfNew); err != nil {
			f.Close()
			return nil, 0, nil, fmt.Errorf("create hash chain %s: %w", path, err)
		}
	}
	c = &chain{path: path, f: f}
	d, err := readChain(io.NewSectionReader(f, 0, 1<<62))
	if errors.Is(err, errBadChain) {
		// Edited into something that is no chain: evidence like a changed
		// line; the next segment links to the last hash that still parsed.
		c.cur = d.last()
		return c, chainMismatch, fmt.Errorf("hash chain %s: %w", path, err), nil
	}
	if err != nil {
		f.Close()
		return nil, 0, nil, fmt.Errorf("hash chain %s: %w", path, err)
	}
	if fi, err := f.Stat(); err == nil && fi.Size() > d.valid {
		// A partial line from a crash: the chain is derived data, so the
		// fragment is cut and recomputed from the log below.
		if err := f.Truncate(d.valid); err != nil {
			f.Close()
			return nil, 0, nil, fmt.Errorf("hash chain %s: %w", path, err)
		}
	}
	c.cur = d.last()
	if size == 0 && len(d.hashes) > 0 {
		return c, chainLogReplaced, errors.New("the file is empty but its hash chain is not"), nil
	}
	res := walk(io.NewSectionReader(log, 0, size), d.prev, d.hashes, d.intentAt)
	if res.err != nil {
		return c, chainMismatch, res.err, nil
	}
	if len(res.extra) == 0 {
		return c, chainMatches, nil, nil
	}
	first := res.lines - len(res.extra) + 1
	switch {
	case created:
		zl.Warn("Audit file had no hash chain; chaining its existing lines from here",
			zap.String("path", logPath), zap.Int("lines", len(res.extra)))
	case !explained(d, res, repaired):
		return c, chainUnexplained, fmt.Errorf("lines %d to %d (%d bytes) are not in the hash chain and more than its last announced write (%d bytes) could leave behind: appended behind its back",
			first, res.lines, res.size-res.chainedOff, d.intent), nil
	default:
		zl.Warn("Sealed log lines missing from the hash chain (the last write before a crash)",
			zap.String("path", logPath), zap.Int("lines", len(res.extra)))
	}
	c.buf = c.buf[:0]
	for _, h := range res.extra {
		c.buf = hex.AppendEncode(c.buf, h[:])
		c.buf = append(c.buf, '\n')
	}
	if _, err := c.f.Write(c.buf); err != nil {
		c.close()
		return nil, 0, nil, fmt.Errorf("hash chain %s: %w", c.path, err)
	}
	if err := c.sync(); err != nil {
		c.close()
		return nil, 0, nil, err
	}
	c.cur = res.last
	return c, chainMatches, nil, nil
}

// explained is the crash rule: the lines from the last intent to the end of
// the log fit in the write that intent announced (plus the newline of a
// repaired torn tail). A crash can leave at most that one write unchained.
func explained(d chainData, res walkResult, repaired bool) bool {
	if d.intent < 0 || d.intentAt > len(d.hashes) {
		return false
	}
	allow := d.intent
	if repaired {
		allow++
	}
	return res.size-res.markOff <= allow
}

// begin announces a write of n bytes to the log; sync makes the intent
// durable before the log is written.
func (c *chain) begin(n int, sync bool) error {
	c.prevCur = c.cur
	// Nothing to roll back until the real size is known (never trust a
	// remembered one).
	c.prevSize, c.intentSize = -1, -1
	fi, err := c.f.Stat()
	if err != nil {
		return fmt.Errorf("hash chain %s: %w", c.path, err)
	}
	c.prevSize = fi.Size()
	c.buf = strconv.AppendInt(append(c.buf[:0], '+'), int64(n), 10)
	c.buf = append(c.buf, '\n')
	if _, err := c.f.Write(c.buf); err != nil {
		return fmt.Errorf("hash chain %s: %w", c.path, err)
	}
	c.intentSize = c.prevSize + int64(len(c.buf))
	if sync {
		return c.sync()
	}
	return nil
}

// add chains the lines in data and appends their hashes to the file.
func (c *chain) add(data []byte) error {
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
	if _, err := c.f.Write(c.buf); err != nil {
		return fmt.Errorf("hash chain %s: %w", c.path, err)
	}
	return nil
}

// rollback forgets the last write: its hashes, and its intent too unless
// keepIntent (the log could not be cut back, so the intent must stay to
// explain what the log kept). It never extends the file.
func (c *chain) rollback(keepIntent bool) {
	c.cur = c.prevCur
	to := c.prevSize
	if keepIntent && c.intentSize >= 0 {
		to = c.intentSize
	}
	if to < 0 {
		return
	}
	if fi, err := c.f.Stat(); err == nil && fi.Size() > to {
		_ = c.f.Truncate(to)
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

// errBadChain marks a chain file that does not parse (as opposed to one
// that cannot be read).
var errBadChain = errors.New("not a hash chain")

// readChain parses a chain file; a partial last line is ignored. On a
// syntax error (errBadChain) d holds what parsed before it.
func readChain(r io.Reader) (d chainData, err error) {
	d.intent = -1
	br := bufio.NewReader(r)
	header, err := br.ReadString('\n')
	var prevHex string
	switch {
	case err != nil:
		return d, fmt.Errorf("%w: missing or bad header line", errBadChain)
	case strings.HasPrefix(header, chainHeader):
		prevHex = header[len(chainHeader):]
	case strings.HasPrefix(header, chainHeaderV1):
		prevHex = header[len(chainHeaderV1):]
	default:
		return d, fmt.Errorf("%w: missing or bad header line", errBadChain)
	}
	if err := decodeHash(d.prev[:], strings.TrimSuffix(prevHex, "\n")); err != nil {
		return d, fmt.Errorf("%w: header: %w", errBadChain, err)
	}
	d.valid = int64(len(header))
	for n := 2; ; n++ {
		line, err := br.ReadString('\n')
		if err == io.EOF {
			return d, nil
		}
		if err != nil {
			return d, err
		}
		body := line[:len(line)-1]
		if rest, ok := strings.CutPrefix(body, "+"); ok {
			v, err := strconv.ParseInt(rest, 10, 64)
			if err != nil || v < 0 || rest != strconv.FormatInt(v, 10) {
				return d, fmt.Errorf("%w: line %d: bad intent %q", errBadChain, n, body)
			}
			d.intent, d.intentAt = v, len(d.hashes)
		} else {
			var h [sha256.Size]byte
			if err := decodeHash(h[:], body); err != nil {
				return d, fmt.Errorf("%w: line %d: %w", errBadChain, n, err)
			}
			d.hashes = append(d.hashes, h)
		}
		d.valid += int64(len(line))
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
	lines      int
	size       int64 // bytes read
	markOff    int64 // offset of line index mark (size if beyond)
	chainedOff int64 // offset of the first line beyond the chain
	last       [sha256.Size]byte
	extra      [][sha256.Size]byte // hashes of lines beyond the chain
	torn       bool                // the log does not end with a newline
	err        error
}

// walk recomputes the chain over the log's lines from prev and compares it
// with hashes; it also notes where line index mark starts.
func walk(log io.Reader, prev [sha256.Size]byte, hashes [][sha256.Size]byte, mark int) walkResult {
	res := walkResult{last: prev, markOff: -1, chainedOff: -1}
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
		if res.lines == mark {
			res.markOff = res.size
		}
		if res.lines == len(hashes) {
			res.chainedOff = res.size
		}
		res.size += int64(len(line))
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
	if res.markOff < 0 {
		res.markOff = res.size
	}
	if res.chainedOff < 0 {
		res.chainedOff = res.size
	}
	if res.lines < len(hashes) {
		res.err = fmt.Errorf("the hash chain has %d entries but the log only %d lines (lines %d to %d removed from the end)",
			len(hashes), res.lines, res.lines+1, len(hashes))
	}
	return res
}
