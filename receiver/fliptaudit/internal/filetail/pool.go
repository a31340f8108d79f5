package filetail

import (
	"container/list"
	"errors"
	"os"
	"sync/atomic"
)

// errPoolFull: every descriptor the pool may hold belongs to a rotated-away
// file still being drained; the file waits for the next poll.
var errPoolFull = errors.New("max_concurrent_files descriptors are all held by rotated files still being read")

// errReplaced: the path names another file than the one stat found a
// moment ago (rotated in between); the next poll sees the new one.
var errReplaced = errors.New("file was replaced while being opened")

// pool bounds the descriptors the tailer holds. Files are opened by path
// when they have something to read; beyond max the least recently used
// file that include still finds is closed. A rotated-away file is never
// closed by the pool: include no longer finds it, so its descriptor is the
// only way left to read its last lines.
type pool struct {
	max      int
	lru      list.List // of *file, most recently used first
	onChange func(delta int64)
	peak     atomic.Int64 // the most files held open at once, for tests
}

func newPool(limit int, onChange func(int64)) *pool {
	p := &pool{max: limit, onChange: onChange}
	p.lru.Init()
	return p
}

// open makes sure fl's descriptor is open and marks it most recently used.
func (p *pool) open(fl *file) error {
	if fl.f != nil {
		p.lru.MoveToFront(fl.elem)
		return nil
	}
	if p.lru.Len() >= p.max && !p.evict() {
		return errPoolFull
	}
	f, err := os.Open(fl.path)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return err
	}
	if idOf(fl.path, fi) != fl.id {
		_ = f.Close()
		return errReplaced
	}
	fl.f, fl.elem = f, p.lru.PushFront(fl)
	if n := int64(p.lru.Len()); n > p.peak.Load() {
		p.peak.Store(n)
	}
	p.onChange(1)
	return nil
}

// evict closes the least recently used file that can be reopened by path.
func (p *pool) evict() bool {
	for e := p.lru.Back(); e != nil; e = e.Prev() {
		if fl := e.Value.(*file); fl.missing.IsZero() {
			p.close(fl)
			return true
		}
	}
	return false
}

func (p *pool) close(fl *file) {
	if fl.f == nil {
		return
	}
	_ = fl.f.Close()
	p.lru.Remove(fl.elem)
	fl.f, fl.elem = nil, nil
	p.onChange(-1)
}

func (p *pool) closeAll() {
	for p.lru.Len() > 0 {
		p.close(p.lru.Front().Value.(*file))
	}
}
