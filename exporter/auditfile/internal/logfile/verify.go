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
	"path/filepath"
	"strings"
)

// Verify checks the log file (gzip-compressed if its name ends in .gz)
// against its hash chain and returns the number of lines and the last hash.
// Any line the chain does not cover is an error here.
func Verify(logPath, chainPath string) (lines int, last string, err error) {
	_, res, err := verifyPair(logPath, chainPath)
	if err == nil {
		err = tailError(res, false)
	}
	if err != nil {
		return res.lines, "", fmt.Errorf("%s: %w", logPath, err)
	}
	return res.lines, hex.EncodeToString(res.last[:]), nil
}

// verifyPair reads the chain and walks the log against it. err is set for
// an unreadable file or a line that does not match; lines beyond the chain
// are left to the caller (res.extra, res.torn).
func verifyPair(logPath, chainPath string) (chainData, walkResult, error) {
	d, err := readChainFile(chainPath)
	if err != nil {
		return d, walkResult{}, err
	}
	r, closeLog, err := openLog(logPath)
	if err != nil {
		return d, walkResult{}, err
	}
	defer closeLog()
	res := walk(r, d.prev, d.hashes, d.intentAt)
	return d, res, res.err
}

// tailError describes lines beyond the chain. pendingOK accepts what the
// last announced write explains (a write in progress, or a crash the
// exporter seals at its next start).
func tailError(res walkResult, pendingOK bool) error {
	switch {
	case len(res.extra) > 0 && !pendingOK:
		first := res.lines - len(res.extra) + 1
		return fmt.Errorf("lines %d to %d (%d bytes) at the end are not in the hash chain (appended behind its back, or written just before a crash and not yet sealed)",
			first, res.lines, res.size-res.chainedOff)
	case res.torn && !pendingOK:
		return fmt.Errorf("the last line (line %d) has no newline (torn write)", res.lines)
	}
	return nil
}

func readChainFile(path string) (chainData, error) {
	f, err := os.Open(path)
	if err != nil {
		return chainData{intent: -1}, err
	}
	defer f.Close()
	d, err := readChain(f)
	if err != nil {
		return d, fmt.Errorf("%s: %w", path, err)
	}
	return d, nil
}

// openLog opens a log file, through gzip when its name ends in .gz.
func openLog(path string) (io.Reader, func(), error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	if !strings.HasSuffix(path, ".gz") {
		return f, func() { f.Close() }, nil
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return zr, func() { zr.Close(); f.Close() }, nil
}

// Segment is one log file and its hash chain.
type Segment struct {
	Log   string // "" when only the chain is present
	Chain string
}

// Name is how findings refer to the segment.
func (s Segment) Name() string {
	if s.Log != "" {
		return s.Log
	}
	return s.Chain
}

// SegmentOf is the segment of a file given by name: a chain file alone, or
// a log file (plain or .gz) with the chain beside it.
func SegmentOf(path string) Segment {
	if strings.HasSuffix(path, ".sha256chain") {
		return Segment{Chain: path}
	}
	return Segment{Log: path, Chain: ChainPath(strings.TrimSuffix(path, ".gz"))}
}

// Finding is one line of a verification report.
type Finding struct {
	Level string // OK, NOTE or FAIL
	Path  string
	Msg   string
}

func (f Finding) String() string { return fmt.Sprintf("%-4s %s: %s", f.Level, f.Path, f.Msg) }

// Failed reports whether any finding is a FAIL.
func Failed(fs []Finding) bool {
	for _, f := range fs {
		if f.Level == "FAIL" {
			return true
		}
	}
	return false
}

const (
	levelOK   = "OK"
	levelNote = "NOTE"
	levelFail = "FAIL"
)

// VerifySegments checks each segment (oldest first) against its chain, and
// the links between them: a segment's prev must be the last hash of the
// segment before it, so a missing, reordered or replaced segment shows as
// a broken link. The oldest segment's prev is only checked to be zeros (the
// first segment ever) or reported as not checkable (older segments deleted
// by retention). The last segment may end in lines its last announced write
// explains (a write in progress): a NOTE, not a FAIL.
func VerifySegments(segs []Segment) []Finding {
	var out []Finding
	add := func(level string, s Segment, format string, a ...any) {
		out = append(out, Finding{Level: level, Path: s.Name(), Msg: fmt.Sprintf(format, a...)})
	}
	var prevLast *[sha256.Size]byte // nil: the segment before is unknown
	seenLog := false
	for i, s := range segs {
		d, err := readChainFile(s.Chain)
		if err != nil {
			prevLast = nil
			switch {
			case os.IsNotExist(err):
				add(levelFail, s, "no hash chain %s (written with hash_chain off?)", s.Chain)
			case errors.Is(err, errBadChain):
				// The exporter linked the next segment to the last hash
				// that still parsed, so the next link stays checkable.
				add(levelFail, s, "%v", err)
				last := d.last()
				prevLast = &last
			default:
				add(levelFail, s, "hash chain unreadable: %v", err)
			}
			seenLog = seenLog || s.Log != ""
			continue
		}
		link := ""
		switch {
		case i == 0 && d.prev == [sha256.Size]byte{}:
			link = "; starts the chain (prev = zeros)"
		case i == 0:
			add(levelNote, s, "prev %s is not checked: the segment before it is not among these files (deleted by retention, or not given)", short(d.prev))
		case prevLast == nil:
			add(levelNote, s, "prev %s is not checked: the chain of segment %s is unreadable", short(d.prev), segs[i-1].Name())
		case d.prev != *prevLast:
			hint := "a segment between them is missing, or they are out of order or replaced"
			if d.prev == [sha256.Size]byte{} {
				hint = "it starts a new chain (prev = zeros): its chain was deleted and recreated, or segments before it are from another chain"
			}
			add(levelFail, s, "segment %s: prev does not match the last hash of segment %s (%s)", s.Name(), segs[i-1].Name(), hint)
		default:
			link = "; prev is the last hash of " + segs[i-1].Name()
		}
		last := d.last()
		prevLast = &last
		if s.Log == "" {
			switch {
			case len(d.hashes) == 0:
				add(levelOK, s, "empty segment (chain only), last hash %s%s", hex.EncodeToString(last[:]), link)
			case !seenLog:
				add(levelNote, s, "chain only: its log is not present (deleted by retention?); %d lines not checked, its last hash %s links the next segment", len(d.hashes), short(last))
			default:
				add(levelFail, s, "segment %s: its log file is missing (%d lines; externally rotated and deleted, or moved out of the directory)", s.Name(), len(d.hashes))
			}
			continue
		}
		seenLog = true
		_, res, err := verifyPair(s.Log, s.Chain)
		if err == nil {
			pending := i == len(segs)-1 && explained(d, res, false)
			err = tailError(res, pending)
			if err == nil && (len(res.extra) > 0 || res.torn) {
				add(levelNote, s, "%d lines, last hash %s; lines %d to %d are not chained yet (the last write, in progress or cut short by a crash; the exporter seals them at its next start)",
					res.lines, short(last), res.lines-len(res.extra)+1, res.lines)
				continue
			}
		}
		if err != nil {
			add(levelFail, s, "%v", err)
			continue
		}
		add(levelOK, s, "%d lines, last hash %s%s", res.lines, hex.EncodeToString(res.last[:]), link)
	}
	return out
}

func short(h [sha256.Size]byte) string { return hex.EncodeToString(h[:6]) + "…" }

// Discover finds the segments of the audit file at path, oldest first: the
// exporter's own rotated files with their chains, chains set aside after an
// external rotation (each matched by content to the file logrotate made of
// it, e.g. audit.log.1 or audit.log-20261201.gz, by the hash of its first
// line), and the active file. Files beside it that belong to no chain are
// returned as FAIL findings.
func Discover(path string) ([]Segment, []Finding, error) {
	bs, err := listBackups(path, true)
	if err != nil {
		return nil, nil, err
	}
	var segs []Segment
	for i := len(bs) - 1; i >= 0; i-- {
		if bs[i].chainOnly {
			segs = append(segs, Segment{Chain: bs[i].path})
		} else {
			segs = append(segs, SegmentOf(bs[i].path))
		}
	}
	if exists(path) || exists(ChainPath(path)) {
		segs = append(segs, Segment{Log: path, Chain: ChainPath(path)})
		if !exists(path) {
			segs[len(segs)-1].Log = ""
		}
	}
	known := map[string]bool{}
	for _, b := range bs {
		known[b.path] = true
	}
	candidates, err := foreignFiles(path, known)
	if err != nil {
		return nil, nil, err
	}
	for i, s := range segs {
		if s.Log != "" {
			continue
		}
		d, err := readChainFile(s.Chain)
		if err != nil || len(d.hashes) == 0 {
			continue
		}
		for j, c := range candidates {
			if c != "" && firstHash(c, d.prev) == d.hashes[0] {
				segs[i].Log, candidates[j] = c, ""
				break
			}
		}
	}
	var findings []Finding
	for _, c := range candidates {
		if c != "" {
			findings = append(findings, Finding{Level: levelFail, Path: c, Msg: "not covered by any hash chain of " + path + " (added, edited in its first line, or its chain is missing)"})
		}
	}
	return segs, findings, nil
}

// foreignFiles are the regular files beside path named after it that the
// exporter did not name (known): what logrotate makes of it.
func foreignFiles(path string, known map[string]bool) ([]string, error) {
	dir, base := filepath.Dir(path), filepath.Base(path)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		n := e.Name()
		if !e.Type().IsRegular() || n == base || !strings.HasPrefix(n, base) {
			continue
		}
		if strings.HasSuffix(n, ".sha256chain") || strings.HasSuffix(n, ".lock") || strings.HasSuffix(n, ".tmp") {
			continue
		}
		if p := filepath.Join(dir, n); !known[p] {
			out = append(out, p)
		}
	}
	return out, nil
}

// firstHash is h_1 of the file's first line chained from prev (zeros when
// unreadable or empty, which matches no chain's first hash in practice).
func firstHash(path string, prev [sha256.Size]byte) [sha256.Size]byte {
	r, closeLog, err := openLog(path)
	if err != nil {
		return [sha256.Size]byte{}
	}
	defer closeLog()
	line, err := bufio.NewReader(r).ReadBytes('\n')
	if len(line) == 0 && err != nil {
		return [sha256.Size]byte{}
	}
	h := sha256.New()
	h.Write(prev[:])
	h.Write(bytes.TrimSuffix(line, []byte{'\n'}))
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}

// VerifyPath discovers and verifies the rotated set of path: the findings
// of Discover followed by those of VerifySegments.
func VerifyPath(path string) ([]Finding, error) {
	segs, findings, err := Discover(path)
	if err != nil {
		return nil, err
	}
	if len(segs) == 0 {
		return append(findings, Finding{Level: levelFail, Path: path, Msg: "no audit file or hash chain found"}), nil
	}
	return append(VerifySegments(segs), findings...), nil
}
