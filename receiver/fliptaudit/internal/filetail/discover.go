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

// track makes sure the file at path is tracked and returns its identity.
func (t *Tailer) track(path string) (fileID, bool) {
	if fi, err := os.Stat(path); err != nil || !fi.Mode().IsRegular() {
		return fileID{}, false
	} else if fl, ok := t.files[idOf(path, fi)]; ok {
		t.renamed(fl, path)
		return fl.id, true
	}
	f, err := os.Open(path)
	if err != nil {
		t.warn("open:"+path, "Cannot open file", err, zap.String("path", path))
		return fileID{}, false
	}
	fl, err := t.open(f, path)
	if err != nil {
		_ = f.Close()
		t.warn("open:"+path, "Cannot read file", err, zap.String("path", path))
		return fileID{}, false
	}
	t.clearWarning("open:" + path)
	return fl.id, true
}

// open starts tracking an opened file, from its checkpoint if it has one.
func (t *Tailer) open(f *os.File, path string) (*file, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	id := idOf(path, fi)
	if fl, ok := t.files[id]; ok { // renamed between Stat and Open
		_ = f.Close()
		t.renamed(fl, path)
		return fl, nil
	}
	fp, err := readFingerprint(f, fi.Size())
	if err != nil {
		return nil, err
	}
	fl := &file{f: f, id: id, path: path, fp: fp, idleSize: -1}
	if c, ok := t.known[id]; ok {
		delete(t.known, id)
		// A different start means the inode now holds another file.
		if same, err := c.fingerprint().matches(f); err != nil {
			return nil, err
		} else if same {
			fl.offset, fl.line = c.Offset, c.Line
		}
	} else if t.firstPoll && t.startAtEnd {
		end, line, _, err := t.lines.scan(fl, math.MaxInt, func(int64, []byte, error) {})
		if err != nil {
			return nil, err
		}
		fl.offset, fl.line = end, line
	}
	t.files[id] = fl
	t.dirty = true
	return fl, nil
}

func (t *Tailer) renamed(fl *file, path string) {
	if fl.path != path {
		fl.path, t.dirty = path, true
	}
}

// forget stops tracking a file that is gone and idle.
func (t *Tailer) forget(fl *file) {
	if fi, err := fl.f.Stat(); err == nil && fi.Size() > fl.offset {
		t.skip(fl, fl.line+1, ErrTornLine)
	}
	_ = fl.f.Close()
	delete(t.files, fl.id)
	t.dirty = true
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
