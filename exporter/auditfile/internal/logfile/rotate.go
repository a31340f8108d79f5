package logfile

import (
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"go.uber.org/zap"
)

// backupTime is the UTC timestamp in a rotated file's name; it sorts as text.
const backupTime = "2006-01-02T15-04-05.000"

// rotateLocked seals the current file (fsync, close, chain sealed with it),
// renames it to a timestamped backup and opens a fresh file.
func (w *Writer) rotateLocked() error {
	var prev []byte
	if w.chain != nil {
		prev = w.chain.last()
	}
	if err := w.syncLocked(); err != nil {
		w.closeFileLocked()
		return err
	}
	w.closeFileLocked()
	backup, err := w.backupName()
	if err != nil {
		return w.fail(fmt.Errorf("rotate: %w", err))
	}
	if err := os.Rename(w.opts.Path, backup); err != nil {
		return w.fail(fmt.Errorf("rotate: %w", err))
	}
	if w.opts.Chain {
		if err := os.Rename(ChainPath(w.opts.Path), ChainPath(backup)); err != nil && !os.IsNotExist(err) {
			return w.fail(fmt.Errorf("rotate hash chain: %w", err))
		}
		if err := createChain(ChainPath(w.opts.Path), w.opts.Perm, prev); err != nil {
			return w.fail(err)
		}
	}
	if err := syncDir(filepath.Dir(w.opts.Path)); err != nil {
		return w.fail(err)
	}
	fire(w.opts.Events.Rotated)
	w.poke()
	return w.openLocked()
}

// backupName is a free name <base>-<UTC time><ext> beside the file.
func (w *Writer) backupName() (string, error) {
	dir, prefix, ext := w.parts()
	t := w.opts.now().UTC()
	for range 1000 {
		name := filepath.Join(dir, prefix+"-"+t.Format(backupTime)+ext)
		_, err1 := os.Lstat(name)
		_, err2 := os.Lstat(name + ".gz")
		if os.IsNotExist(err1) && os.IsNotExist(err2) {
			return name, nil
		}
		t = t.Add(time.Millisecond)
	}
	return "", fmt.Errorf("no free backup name in %s", dir)
}

func (w *Writer) parts() (dir, prefix, ext string) {
	dir = filepath.Dir(w.opts.Path)
	base := filepath.Base(w.opts.Path)
	ext = filepath.Ext(base)
	return dir, strings.TrimSuffix(base, ext), ext
}

// backup is one rotated file found on disk.
type backup struct {
	path string // as on disk, possibly .gz
	t    time.Time
	gz   bool
}

// Backups lists the rotated files of the file at path, newest first.
func (w *Writer) Backups() ([]string, error) {
	bs, err := w.backups()
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = b.path
	}
	return out, err
}

func (w *Writer) backups() ([]backup, error) {
	dir, prefix, ext := w.parts()
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []backup
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !strings.HasPrefix(name, prefix+"-") {
			continue
		}
		rest, gz := strings.CutSuffix(name, ".gz")
		stamp, ok := strings.CutSuffix(rest[len(prefix)+1:], ext)
		if !ok {
			continue
		}
		t, err := time.Parse(backupTime, stamp)
		if err != nil {
			continue
		}
		out = append(out, backup{path: filepath.Join(dir, name), t: t, gz: gz})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].t.After(out[j].t) })
	return out, nil
}

// poke wakes the maintenance worker (one pending wake-up is enough).
func (w *Writer) poke() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

func (w *Writer) maintenanceLoop() {
	defer w.wg.Done()
	for {
		select {
		case <-w.stop:
			select {
			case <-w.kick: // a rotation just before Close still gets its turn
				w.maintainAndLog()
			default:
			}
			return
		case <-w.kick:
			w.maintainAndLog()
		}
	}
}

func (w *Writer) maintainAndLog() {
	if err := w.Maintain(); err != nil {
		w.log.Error("Audit file retention or compression failed; retrying after the next rotation",
			zap.String("path", w.opts.Path), zap.Error(err))
	}
}

// Maintain compresses rotated files (if configured) and deletes those beyond
// MaxBackups or older than MaxAge, with their hash chains. It runs after
// every rotation and at start; it is exported for tests.
func (w *Writer) Maintain() error {
	w.maintain.Lock()
	defer w.maintain.Unlock()
	bs, err := w.backups()
	if err != nil {
		return err
	}
	now := w.opts.now()
	var errs []error
	for i, b := range bs {
		expired := w.opts.MaxBackups > 0 && i >= w.opts.MaxBackups ||
			w.opts.MaxAge > 0 && now.Sub(b.t) > w.opts.MaxAge
		switch {
		case expired:
			chainPath := ChainPath(strings.TrimSuffix(b.path, ".gz"))
			for _, p := range []string{b.path, chainPath} {
				if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
					errs = append(errs, err)
				}
			}
		case w.opts.Compress && !b.gz:
			if err := compress(b.path, w.opts.Perm); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%d errors, first: %w", len(errs), errs[0])
	}
	return nil
}

// compress writes path.gz through a temporary file, fsyncs it, and only
// then removes path, so a crash never leaves the data in neither.
func compress(path string, perm os.FileMode) error {
	in, err := os.Open(path)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := path + ".gz.tmp"
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	zw := gzip.NewWriter(out)
	_, err = io.Copy(zw, in)
	if err == nil {
		err = zw.Close()
	}
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path+".gz")
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("compress %s: %w", path, err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return err
	}
	return os.Remove(path)
}
