package logfile

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
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
// renames it to a timestamped backup and opens a fresh file, whose chain
// starts from the last hash of the old one. rename(2) replaces a link at
// the backup's name rather than following it.
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
		w.nextPrev = prev
		if err := os.Rename(ChainPath(w.opts.Path), ChainPath(backup)); err != nil && !os.IsNotExist(err) {
			return w.fail(fmt.Errorf("rotate hash chain: %w", err))
		}
	}
	if err := syncDir(filepath.Dir(w.opts.Path)); err != nil {
		return w.fail(err)
	}
	fire(w.opts.Events.Rotated)
	w.poke()
	return w.openLocked()
}

// backupName is a free name <base>-<UTC time><ext> beside the file (free
// also of a .gz and of a chain of that name).
func (w *Writer) backupName() (string, error) {
	dir, prefix, ext := w.parts()
	t := w.opts.now().UTC()
	for range 1000 {
		name := filepath.Join(dir, prefix+"-"+t.Format(backupTime)+ext)
		free := true
		for _, p := range []string{name, name + ".gz", ChainPath(name)} {
			if _, err := os.Lstat(p); !os.IsNotExist(err) {
				free = false
			}
		}
		if free {
			return name, nil
		}
		t = t.Add(time.Millisecond)
	}
	return "", fmt.Errorf("no free backup name in %s", dir)
}

func (w *Writer) parts() (dir, prefix, ext string) { return splitPath(w.opts.Path) }

func splitPath(path string) (dir, prefix, ext string) {
	dir = filepath.Dir(path)
	base := filepath.Base(path)
	ext = filepath.Ext(base)
	return dir, strings.TrimSuffix(base, ext), ext
}

// backup is one rotated file found on disk.
type backup struct {
	path string // as on disk, possibly .gz
	t    time.Time
	gz   bool
	// chainOnly: a hash chain whose log is elsewhere (set aside after an
	// external rotation).
	chainOnly bool
}

// Backups lists the rotated files of the file at path, newest first.
func (w *Writer) Backups() ([]string, error) {
	bs, err := w.backups(false)
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = b.path
	}
	return out, err
}

func (w *Writer) backups(chainOnly bool) ([]backup, error) {
	return listBackups(w.opts.Path, chainOnly)
}

// listBackups finds the rotated files of path, newest first; with
// chainOnly also the chains whose log is not beside them.
func listBackups(path string, chainOnly bool) ([]backup, error) {
	dir, prefix, ext := splitPath(path)
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
		rest, isChain := strings.CutSuffix(name, ".sha256chain")
		rest, gz := strings.CutSuffix(rest, ".gz")
		stamp, ok := strings.CutSuffix(rest[len(prefix)+1:], ext)
		if !ok || isChain && (gz || !chainOnly) {
			continue
		}
		t, err := time.Parse(backupTime, stamp)
		if err != nil {
			continue
		}
		if isChain && (exists(filepath.Join(dir, rest)) || exists(filepath.Join(dir, rest+".gz"))) {
			continue // the chain of a backup listed by its log
		}
		out = append(out, backup{path: filepath.Join(dir, name), t: t, gz: gz, chainOnly: isChain})
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
	bs, err := w.backups(true)
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
			paths := []string{b.path, ChainPath(strings.TrimSuffix(b.path, ".gz"))}
			if b.chainOnly {
				paths = paths[:1]
			}
			for _, p := range paths {
				if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
					errs = append(errs, err)
				}
			}
		case w.opts.Compress && !b.gz && !b.chainOnly:
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
// then removes path, so a crash never leaves the data in neither. Neither
// file is opened through a symbolic link; a temporary file left by a crash
// (or planted) is removed, not followed.
func compress(path string, perm os.FileMode) error {
	in, _, err := openFile(path, os.O_RDONLY, 0)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := path + ".gz.tmp"
	out, _, err := openFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if errors.Is(err, fs.ErrExist) {
		if err = os.Remove(tmp); err == nil {
			out, _, err = openFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
		}
	}
	if err != nil {
		return fmt.Errorf("compress %s: %w", path, err)
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

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
