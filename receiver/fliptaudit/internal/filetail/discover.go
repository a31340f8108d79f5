package filetail

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.uber.org/zap"
)

// discover returns the absolute paths matching include and not exclude.
func (t *Tailer) discover() []string {
	set := map[string]bool{}
	for _, pattern := range t.cfg.Include {
		matches, _ := filepath.Glob(pattern) // patterns were validated
		for _, m := range matches {
			abs, err := filepath.Abs(m)
			if err != nil || t.excluded(m, abs) {
				continue
			}
			set[abs] = true
		}
	}
	paths := make([]string, 0, len(set))
	for p := range set {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	return paths
}

func (t *Tailer) excluded(paths ...string) bool {
	for _, pattern := range t.cfg.Exclude {
		for _, p := range paths {
			if ok, _ := filepath.Match(pattern, p); ok {
				return true
			}
		}
	}
	return false
}

// track makes sure the file at path, as stat found it, is tracked. A file
// seen for the first time is only noted: it is opened when its turn to be
// read comes, so finding many files opens none of them.
func (t *Tailer) track(path string, fi os.FileInfo) *file {
	id := idOf(path, fi)
	if fl, ok := t.files[id]; ok {
		t.renamed(fl, path)
		return fl
	}
	fl := &file{id: id, path: path, slot: -1, idleSize: -1, atEnd: t.firstPoll && t.startAtEnd}
	if c, ok := t.known[id]; ok {
		delete(t.known, id)
		fl.resume(c.checkpoint, c.slot)
		if c.slot < 0 || c.Path != path {
			t.markDirty(fl)
		}
	}
	t.files[id] = fl
	return fl
}

// prepare checks the start of a file opened for the first time: a stored
// position applies only if the file still starts with the same bytes (an
// inode is reused once its file is deleted); start_at end skips to the
// end of its last complete line.
func (t *Tailer) prepare(fl *file, size int64) error {
	before := fl.checkpoint()
	switch {
	case fl.verify:
		same, err := fl.fp.matches(fl.f)
		if err != nil {
			return err
		}
		if !same {
			fl.restart()
			fl.fp = fingerprint{}
		}
	case fl.atEnd:
		end, line, _, err := t.lines.scan(fl, math.MaxInt, func(int64, []byte, error) {})
		if err != nil {
			return err
		}
		fl.offset, fl.line = end, line
	}
	if fl.fp.Len == 0 {
		fp, err := readFingerprint(fl.f, size)
		if err != nil {
			return err
		}
		fl.fp = fp
	}
	fl.ready, fl.verify = true, false
	if fl.slot < 0 || !fl.checkpoint().equal(before) {
		t.markDirty(fl)
	}
	return nil
}

func (t *Tailer) renamed(fl *file, path string) {
	if fl.path != path {
		fl.path = path
		t.markDirty(fl)
	}
}

// forget stops tracking a file that is gone and idle, and deletes its
// checkpoint.
func (t *Tailer) forget(fl *file) {
	size := fl.idleSize
	if fl.f != nil {
		if fi, err := fl.f.Stat(); err == nil {
			size = fi.Size()
		}
	}
	if size > fl.offset {
		t.skip(fl, fl.line+1, ErrTornLine)
	}
	t.pool.close(fl)
	delete(t.files, fl.id)
	if fl.slot >= 0 {
		t.deletes = append(t.deletes, fl.slot)
		t.alloc.free = append(t.alloc.free, fl.slot)
		fl.slot = -1
	}
}

// warnUnreadable logs once per path that a file could not be opened.
func (t *Tailer) warnUnreadable(fl *file, err error) {
	t.warn("open:"+fl.path, "Cannot open file", err, zap.String("path", fl.path))
}

func (t *Tailer) sortedFiles() []*file {
	out := make([]*file, 0, len(t.files))
	for _, fl := range t.files {
		out = append(out, fl)
	}
	// A file rotated away before one created at its path, so older lines
	// tend to come first.
	slices.SortFunc(out, func(a, b *file) int {
		if c := strings.Compare(a.path, b.path); c != 0 {
			return c
		}
		switch {
		case a.missing.IsZero() == b.missing.IsZero():
			return 0
		case a.missing.IsZero():
			return 1
		}
		return -1
	})
	return out
}
