package filetail

import (
	"bytes"
	"context"
	"path/filepath"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"

	"github.com/otelcol-flipt/otelcol-flipt/internal/auditevent"
)

// drain hands the new complete lines of fl to the consumer in batches,
// saving the checkpoint after each accepted one. It reports whether it read
// anything, and returns the consumer's error, after which the refused batch
// is read again at the next poll.
func (t *Tailer) drain(ctx context.Context, fl *file) (read bool, err error) {
	fi, err := fl.f.Stat()
	if err != nil {
		t.warn("read:"+fl.path, "Cannot read file", err, zap.String("path", fl.path))
		return false, nil
	}
	size := fi.Size()
	if fl.idle(fi) {
		return false, nil
	}
	if err := t.checkStart(fl, size); err != nil {
		t.warn("read:"+fl.path, "Cannot read file", err, zap.String("path", fl.path))
		return false, nil
	}
	for ctx.Err() == nil {
		ld, end, line, n, err := t.readBatch(fl)
		if err != nil {
			t.warn("read:"+fl.path, "Cannot read file", err, zap.String("path", fl.path))
			return read, nil
		}
		t.clearWarning("read:" + fl.path)
		if n == 0 {
			fl.idleSize, fl.idleMod = size, fi.ModTime()
			return read, nil
		}
		if ld.LogRecordCount() > 0 {
			if err := t.consume(ctx, ld); err != nil {
				return read, err
			}
		}
		fl.offset, fl.line, read = end, line, true
		// The batch was accepted: its checkpoint is saved even if Shutdown
		// has begun.
		t.markDirty(fl)
		t.saveOrWarn(context.WithoutCancel(ctx))
	}
	return read, nil
}

// checkStart notices copy-truncate (the file is shorter than what was
// read, or starts with other bytes) and restarts from the beginning; it
// also extends the fingerprint of a file that was young when first seen.
func (t *Tailer) checkStart(fl *file, size int64) error {
	same := size >= fl.offset
	if same && fl.fp.Len > 0 {
		var err error
		if same, err = fl.fp.matches(fl.f); err != nil {
			return err
		}
	}
	if !same {
		t.set.Logger.Warn("File was truncated or rewritten; reading it again from the start",
			zap.String("path", fl.path), zap.Int64("offset", fl.offset), zap.Int64("size", size))
		fl.restart()
		fl.fp = fingerprint{}
		t.markDirty(fl)
	}
	if fl.fp.Len < fingerprintSize && size > fl.fp.Len {
		fp, err := readFingerprint(fl.f, size)
		if err != nil {
			return err
		}
		fl.fp = fp
		t.markDirty(fl)
	}
	return nil
}

// readBatch decodes up to MaxBatchLines lines of fl from its offset.
func (t *Tailer) readBatch(fl *file) (plog.Logs, int64, int64, int, error) {
	ld := plog.NewLogs()
	records := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	observed := pcommon.NewTimestampFromTime(time.Now())
	name := filepath.Base(fl.path)
	scratch := plog.NewLogRecord()
	end, line, n, err := t.lines.scan(fl, t.cfg.MaxBatchLines, func(no int64, content []byte, err error) {
		if err == nil && len(bytes.TrimSpace(content)) == 0 {
			return // empty lines are not events and not errors
		}
		if err == nil {
			err = t.Limits.DecodeRecord(content, scratch, auditevent.SourceFile, observed)
		}
		if err != nil {
			t.skip(fl, no, err)
			scratch = plog.NewLogRecord()
			return
		}
		scratch.Attributes().PutStr(AttrLogFilePath, fl.path)
		scratch.Attributes().PutStr(AttrLogFileName, name)
		scratch.MoveTo(records.AppendEmpty())
	})
	return ld, end, line, n, err
}

// skip reports a skipped line once, even if its batch is read again.
func (t *Tailer) skip(fl *file, no int64, err error) {
	if no <= fl.reported {
		return
	}
	fl.reported = no
	t.onSkip(fl.path, int(no), err)
}
