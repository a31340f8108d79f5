package auditfile

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// defaultProbeEvery is how often a failing audit file is checked while no
// batch arrives.
const defaultProbeEvery = 5 * time.Second

// probeLoop lets health recover without waiting for the next event: while
// the file is failing and idle, it checks whether the file can be opened
// for appending again. Flipt's audit events can be hours apart, and Flipt
// stops retrying one after about 15 s.
func (e *auditFileExporter) probeLoop(stop <-chan struct{}, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			e.probe(every)
		}
	}
}

func (e *auditFileExporter) probe(idle time.Duration) {
	if !e.health.isFailing() || time.Since(time.Unix(0, e.lastBatch.Load())) < idle {
		return // a batch's outcome is the better signal
	}
	if !e.writing.TryLock() {
		return // a group is being written
	}
	defer e.writing.Unlock()
	if canAppend(e.opts.Path, e.opts.Perm) == nil {
		e.health.settle(nil, nil)
	}
}

// canAppend opens path as the writer would (creating it and its directory)
// and closes it again. O_NONBLOCK keeps it from hanging on a FIFO.
func canAppend(path string, perm os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|syscall.O_NONBLOCK, perm)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", path)
	}
	return nil
}
