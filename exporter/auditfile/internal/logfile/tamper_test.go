package logfile

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rotatedSet writes 4 segments of 3 lines each (3 compressed backups and
// the active file) and returns the path and the segments, oldest first.
func rotatedSet(t *testing.T) (string, []string) {
	t.Helper()
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	path := filepath.Join(t.TempDir(), "audit.log")
	w, _ := open(t, Options{Path: path, MaxBytes: 3*int64(len(line(10))) + 1, Compress: true, Chain: true, Now: clk.now})
	for i := range 12 {
		require.NoError(t, w.Write(line(i)))
		clk.add(time.Second)
	}
	require.NoError(t, w.Close())
	require.NoError(t, w.Maintain())
	bs, err := w.Backups()
	require.NoError(t, err)
	require.Len(t, bs, 3)
	segs := []string{bs[2], bs[1], bs[0], path}
	for _, s := range segs[:3] {
		require.True(t, strings.HasSuffix(s, ".gz"), s)
	}
	requireVerified(t, path)
	return path, segs
}

// rewrite replaces the lines of a log file (gzip when .gz) by edit's.
func rewrite(t *testing.T, path string, edit func([]string) []string) {
	t.Helper()
	lines := strings.SplitAfter(read(t, path), "\n")
	lines = edit(lines[:len(lines)-1])
	data := []byte(strings.Join(lines, ""))
	if strings.HasSuffix(path, ".gz") {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		_, _ = zw.Write(data)
		require.NoError(t, zw.Close())
		data = b.Bytes()
	}
	require.NoError(t, os.WriteFile(path, data, 0o600))
}

func chainOf(seg string) string { return ChainPath(strings.TrimSuffix(seg, ".gz")) }

func renamePair(t *testing.T, from, to string) {
	t.Helper()
	require.NoError(t, os.Rename(from, to))
	require.NoError(t, os.Rename(chainOf(from), chainOf(to)))
}

// Every kind of tampering is reported as a FAIL at the file (and line or
// segment) where it happened, by the verifier that finds the rotated set by
// itself.
func TestTamperingIsDetectedAndLocated(t *testing.T) {
	forged := func(n int) string { return string(line(1000 + n)) }
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, segs []string)
		at     int // index of the segment the FAIL names
		want   string
	}{
		{"edited byte", func(t *testing.T, s []string) {
			rewrite(t, s[1], func(l []string) []string { l[1] = strings.Replace(l[1], "x", "y", 1); return l })
		}, 1, "line 2 does not match the hash chain"},
		{"deleted line", func(t *testing.T, s []string) {
			rewrite(t, s[1], func(l []string) []string { return append(l[:1], l[2:]...) })
		}, 1, "line 2 does not match the hash chain"},
		{"reordered lines", func(t *testing.T, s []string) {
			rewrite(t, s[1], func(l []string) []string { l[0], l[1] = l[1], l[0]; return l })
		}, 1, "line 1 does not match the hash chain"},
		{"truncated tail", func(t *testing.T, s []string) {
			rewrite(t, s[1], func(l []string) []string { return l[:2] })
		}, 1, "lines 3 to 3 removed from the end"},
		{"truncated tail of the active file", func(t *testing.T, s []string) {
			rewrite(t, s[3], func(l []string) []string { return l[:1] })
		}, 3, "lines 2 to 3 removed from the end"},
		{"forged lines appended to a rotated file", func(t *testing.T, s []string) {
			rewrite(t, s[1], func(l []string) []string { return append(l, forged(0), forged(1)) })
		}, 1, "lines 4 to 5"},
		{"forged line appended to the active file", func(t *testing.T, s []string) {
			rewrite(t, s[3], func(l []string) []string { return append(l, forged(0)) })
		}, 3, "lines 4 to 4"},
		{"chain edited", func(t *testing.T, s []string) {
			c := read(t, chainOf(s[2]))
			i := strings.LastIndexByte(strings.TrimSuffix(c, "\n"), '\n') + 1 // the last hash
			b := []byte(c)
			b[i] ^= 1
			require.NoError(t, os.WriteFile(chainOf(s[2]), b, 0o600))
		}, 2, "line 3 does not match the hash chain"},
		{"deleted middle segment", func(t *testing.T, s []string) {
			require.NoError(t, os.Remove(s[1]))
			require.NoError(t, os.Remove(chainOf(s[1])))
		}, 2, "prev does not match the last hash of segment SEG0"},
		{"deleted middle log, chain kept", func(t *testing.T, s []string) {
			require.NoError(t, os.Remove(s[1]))
		}, -1, "its log file is missing (3 lines"},
		{"reordered segments", func(t *testing.T, s []string) {
			tmp := s[1] + ".swap"
			renamePair(t, s[1], tmp)
			renamePair(t, s[2], s[1])
			renamePair(t, tmp, s[2])
		}, 1, "prev does not match the last hash of segment SEG0"},
		{"replaced segment", func(t *testing.T, s []string) {
			// A self-consistent forgery: other lines, their own correct
			// chain, even the right prev. Only the link after it breaks.
			prev := strings.TrimPrefix(strings.SplitN(read(t, chainOf(s[1])), "\n", 2)[0], chainHeader)
			var p [sha256.Size]byte
			_, _ = hex.Decode(p[:], []byte(prev))
			log := forged(0) + forged(1) + forged(2)
			res := walk(strings.NewReader(log), p, nil, 0)
			chain := chainHeader + prev + "\n" + fmt.Sprintf("+%d\n", len(log))
			for _, h := range res.extra {
				chain += hex.EncodeToString(h[:]) + "\n"
			}
			require.NoError(t, os.Remove(s[1]))
			plain := strings.TrimSuffix(s[1], ".gz")
			require.NoError(t, os.WriteFile(plain, []byte(log), 0o600))
			require.NoError(t, os.WriteFile(chainOf(s[1]), []byte(chain), 0o600))
		}, 2, "prev does not match the last hash of segment SEG1P"},
		{"chain of the active file deleted and recreated by a restart", func(t *testing.T, s []string) {
			require.NoError(t, os.Remove(chainOf(s[3])))
			w, _ := open(t, Options{Path: s[3], Chain: true})
			require.NoError(t, w.Close())
		}, 3, "it starts a new chain (prev = zeros)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path, segs := rotatedSet(t)
			tc.tamper(t, segs)
			fs, err := VerifyPath(path)
			require.NoError(t, err)
			for _, f := range fs {
				t.Log(f)
			}
			want := strings.ReplaceAll(tc.want, "SEG0", segs[0])
			want = strings.ReplaceAll(want, "SEG1P", strings.TrimSuffix(segs[1], ".gz"))
			at := chainOf(segs[1])
			if tc.at >= 0 {
				at = segs[tc.at]
			}
			var fails []Finding
			for _, f := range fs {
				if f.Level == "FAIL" {
					fails = append(fails, f)
				}
			}
			require.NotEmpty(t, fails, "not detected: %v", fs)
			found := false
			for _, f := range fails {
				found = found || strings.TrimSuffix(f.Path, ".gz") == strings.TrimSuffix(at, ".gz") && strings.Contains(f.Msg, want)
			}
			assert.True(t, found, "want a FAIL at %s containing %q, got %v", at, want, fails)
		})
	}
}

// Retention deleting the oldest segments is no tampering: the oldest
// present segment's prev cannot be checked, which is said, not failed.
func TestOldestSegmentsDeletedByRetentionIsANote(t *testing.T) {
	path, segs := rotatedSet(t)
	require.NoError(t, os.Remove(segs[0]))
	require.NoError(t, os.Remove(chainOf(segs[0])))
	fs := requireVerified(t, path)
	assert.Equal(t, "NOTE", fs[0].Level)
	assert.Equal(t, segs[1], fs[0].Path)
	assert.Contains(t, fs[0].Msg, "is not checked: the segment before it is not among these files (deleted by retention")

	// A chain left without its log by an interrupted retention, at the old
	// end, is a note too.
	require.NoError(t, os.Remove(segs[1]))
	fs = requireVerified(t, path)
	assert.Equal(t, "NOTE", fs[1].Level)
	assert.Contains(t, fs[1].Msg, "chain only: its log is not present")
}

// Files given by hand are checked in the order given: out of order, or with
// one missing, the link that breaks is named.
func TestVerifySegmentsInGivenOrder(t *testing.T) {
	_, s := rotatedSet(t)
	seg := func(paths ...string) []Segment {
		var out []Segment
		for _, p := range paths {
			out = append(out, SegmentOf(p))
		}
		return out
	}
	assert.False(t, Failed(VerifySegments(seg(s...))))
	fs := VerifySegments(seg(s[0], s[2], s[1], s[3]))
	assert.Contains(t, fs, Finding{Level: "FAIL", Path: s[2], Msg: "segment " + s[2] + ": prev does not match the last hash of segment " + s[0] +
		" (a segment between them is missing, or they are out of order or replaced)"})
	fs = VerifySegments(seg(s[0], s[1], s[3]))
	assert.True(t, Failed(fs))
	assert.Equal(t, "FAIL", fs[2].Level)
	assert.Equal(t, s[3], fs[2].Path)
}

// Lines added to the file behind the chain's back, while the collector was
// stopped or while it runs, are never sealed into the chain: the pair is
// rotated aside unchanged, counted, and the verifier names the lines.
func TestForgedLinesAreSetAsideNotSealed(t *testing.T) {
	for _, running := range []bool{false, true} {
		t.Run(map[bool]string{false: "while stopped", true: "while running"}[running], func(t *testing.T) {
			clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
			path := filepath.Join(t.TempDir(), "audit.log")
			w, c := open(t, Options{Path: path, Chain: true, Now: clk.now})
			require.NoError(t, w.Write(append(line(0), line(1)...)))
			if !running {
				require.NoError(t, w.Close())
			}
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			require.NoError(t, err)
			_, err = f.Write(line(666))
			require.NoError(t, err)
			require.NoError(t, f.Close())
			clk.add(time.Second)
			if !running {
				w, c = open(t, Options{Path: path, Chain: true, Now: clk.now})
			}
			require.NoError(t, w.Write(line(2)))
			require.NoError(t, w.Close())

			assert.Equal(t, 1, c.broken)
			assert.Equal(t, 1, c.rotated)
			bs, err := w.Backups()
			require.NoError(t, err)
			require.Len(t, bs, 1)
			assert.Equal(t, string(line(0))+string(line(1))+string(line(666)), read(t, bs[0]), "evidence kept unchanged")
			assert.Equal(t, string(line(2)), read(t, path))
			fs, err := VerifyPath(path)
			require.NoError(t, err)
			require.Len(t, fs, 2, "%v", fs)
			assert.Equal(t, "FAIL", fs[0].Level)
			assert.Equal(t, bs[0], fs[0].Path)
			assert.Contains(t, fs[0].Msg, "lines 3 to 3 (")
			assert.Equal(t, "OK", fs[1].Level, "the next segment links to the last chained line: %v", fs[1])
		})
	}
}

// The crash rule: at most the last announced write may be missing from the
// chain. One byte more than the intent is tampering.
func TestTailBeyondTheLastIntentIsTampering(t *testing.T) {
	for _, extra := range []int{0, 1} {
		path := filepath.Join(t.TempDir(), "audit.log")
		w, _ := open(t, Options{Path: path, Chain: true})
		require.NoError(t, w.Write(line(0)))
		require.NoError(t, w.Close())
		batch := append(line(1), line(2)...)
		cf, err := os.OpenFile(ChainPath(path), os.O_WRONLY|os.O_APPEND, 0)
		require.NoError(t, err)
		_, _ = fmt.Fprintf(cf, "+%d\n", len(batch)-extra)
		cf.Close()
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
		require.NoError(t, err)
		_, _ = f.Write(batch)
		f.Close()

		w, c := open(t, Options{Path: path, Chain: true})
		require.NoError(t, w.Close())
		assert.Equal(t, extra, c.broken, "intent short by %d bytes", extra)
	}
}

// A crash that cut the last write short leaves a torn fragment: it is
// repaired and sealed (the repair's newline is allowed for), not taken for
// tampering.
func TestTornLastWriteIsSealed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	w, _ := open(t, Options{Path: path, Chain: true})
	require.NoError(t, w.Write(line(0)))
	require.NoError(t, w.Close())
	batch := append(line(1), line(2)...)
	cf, err := os.OpenFile(ChainPath(path), os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, _ = fmt.Fprintf(cf, "+%d\n", len(batch))
	cf.Close()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, _ = f.Write(batch[:len(batch)-1]) // all but the last newline
	f.Close()

	w, c := open(t, Options{Path: path, Chain: true})
	require.NoError(t, w.Close())
	assert.Equal(t, 1, c.torn)
	assert.Zero(t, c.broken)
	requireVerified(t, path)
}

// A chain edited into something that does not parse does not stop the
// exporter: the pair is set aside as evidence, the next segment links to
// the last hash that still parsed, and the verifier names the bad line.
func TestUnparseableChainIsSetAside(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	w, _ := open(t, Options{Path: path, Chain: true})
	require.NoError(t, w.Write(append(line(0), line(1)...)))
	require.NoError(t, w.Close())
	c := read(t, ChainPath(path))
	require.NoError(t, os.WriteFile(ChainPath(path), []byte(c+"not a hash\n"), 0o600))

	w, cnt := open(t, Options{Path: path, Chain: true})
	require.NoError(t, w.Write(line(2)))
	require.NoError(t, w.Close())
	assert.Equal(t, 1, cnt.broken)
	fs, err := VerifyPath(path)
	require.NoError(t, err)
	require.Len(t, fs, 2, "%v", fs)
	assert.Equal(t, "FAIL", fs[0].Level)
	assert.Contains(t, fs[0].Msg, "not a hash chain: line 5:")
	assert.Equal(t, "OK", fs[1].Level, "links to the last hash that parsed: %v", fs[1])
	assert.Equal(t, string(line(2)), read(t, path))
}
