// Package logfile is the append-only, line-oriented file under the audit_file
// exporter: whole-batch writes, fsync policies, crash repair, size and age
// rotation with retention and compression, and the optional hash chain.
//
// It is written here rather than taken from lumberjack because an audit trail
// needs what such libraries hide: control over fsync, batches that never
// straddle two files, errors that name the path and leave the writer able to
// recover, and a hook that seals a hash-chain segment on every rotation.
package logfile

import (
	"fmt"
	"os"
	"time"

	"go.uber.org/zap"
)

// Sync says when the file is fsynced.
type Sync int

const (
	// SyncEveryBatch fsyncs after every batch, before Write returns.
	SyncEveryBatch Sync = iota
	// SyncOnFlush fsyncs on every periodic flush.
	SyncOnFlush
	// SyncNever leaves writing back to the operating system.
	SyncNever
)

// ParseSync maps a config value to a Sync.
func ParseSync(s string) (Sync, error) {
	switch s {
	case "every_batch":
		return SyncEveryBatch, nil
	case "on_flush":
		return SyncOnFlush, nil
	case "never":
		return SyncNever, nil
	}
	return 0, fmt.Errorf("unknown fsync policy %q (want never, on_flush or every_batch)", s)
}

// Events receives what the writer reports for telemetry. Any may be nil.
type Events struct {
	Rotated    func()
	WriteError func()
	TornTail   func()
	// ChainBroken: the file did not match its hash chain (edited, or
	// lines added behind its back) and was rotated aside as evidence.
	ChainBroken func()
}

// Options configure a Writer.
type Options struct {
	// Path is the absolute path of the active file.
	Path string
	// Perm is the mode given to the file, its chain and its lock file when
	// the writer creates them; existing files keep theirs.
	Perm os.FileMode
	// MaxBytes rotates before a batch that would grow a non-empty file past
	// it; 0 disables size rotation.
	MaxBytes int64
	// Interval rotates on the first write in a new interval (aligned to the
	// Unix epoch, so 24h means at midnight UTC); 0 disables it.
	Interval time.Duration
	// MaxBackups keeps at most this many rotated files; 0 keeps all.
	MaxBackups int
	// MaxAge deletes rotated files older than this; 0 keeps them.
	MaxAge time.Duration
	// Compress gzips rotated files.
	Compress bool
	// Sync is the fsync policy.
	Sync Sync
	// FlushInterval, when positive and Sync is not SyncEveryBatch, holds
	// batches in memory and writes them to the file on this period.
	FlushInterval time.Duration
	// BufferBytes bounds the memory buffer; a fuller buffer is written at once.
	BufferBytes int
	// Chain keeps a SHA-256 hash chain of the lines in ChainPath(Path).
	Chain bool

	Logger *zap.Logger
	Events Events
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

func (o *Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

// Buffered reports whether accepted batches wait in memory for the next
// flush (fsync on_flush or never, with a flush interval).
func (o *Options) Buffered() bool { return o.buffered() }

func (o *Options) buffered() bool {
	return o.FlushInterval > 0 && o.Sync != SyncEveryBatch
}

func fire(f func()) {
	if f != nil {
		f()
	}
}
