package filetail

import (
	"bytes"
	"container/list"
	"os"
	"time"
)

// file is one tailed file. Its descriptor is held while it is among the
// max_concurrent_files most recently read files, or while it is rotated
// away (then the descriptor is the only way to read it to its end).
type file struct {
	f    *os.File      // nil while closed
	elem *list.Element // its place in the pool while open
	id   fileID
	path string
	fp   fingerprint
	// ready is set once the file was opened and its start checked: a
	// stored position applies only if verify finds the same first bytes.
	ready, verify bool
	// atEnd: start_at end applies (present at the first poll, no
	// checkpoints at all).
	atEnd bool
	// slot is the storage slot of its checkpoint, -1 before the first
	// save; dirty means the stored checkpoint is out of date.
	slot  int
	dirty bool
	// offset and line are the committed position: the bytes before offset
	// (line lines) were accepted by the consumer or skipped.
	offset int64
	line   int64
	// idleSize and idleMod are the size and modification time at which no
	// complete line followed offset, so an unchanged file is not read
	// again; idleSize is -1 when unknown.
	idleSize int64
	idleMod  time.Time
	// skipStart and skipTo remember an unterminated too-long line starting
	// at skipStart with no newline before skipTo, so it is not read again.
	skipStart, skipTo int64
	// reported is the last line number passed to onSkip, so a batch read
	// again after a consumer error does not report its bad lines twice.
	reported int64
	// missing is when the file was first found unmatched by include, or
	// zero while it matches; lastRead is when new lines were last read.
	missing, lastRead time.Time
}

// restart reads the file again from its beginning (after truncation).
func (fl *file) restart() {
	fl.offset, fl.line, fl.idleSize, fl.skipStart, fl.skipTo, fl.reported = 0, 0, -1, 0, 0, 0
}

func (fl *file) checkpoint() checkpoint {
	return checkpoint{
		Path: fl.path, Dev: fl.id.Dev, Ino: fl.id.Ino,
		FPLen: fl.fp.Len, FP: fl.fp.Sum[:],
		Offset: fl.offset, Line: fl.line,
	}
}

// resume takes a stored position, to be verified when the file is opened.
func (fl *file) resume(c checkpoint, slot int) {
	fl.slot, fl.verify = slot, true
	fl.fp, fl.offset, fl.line = c.fingerprint(), c.Offset, c.Line
}

// idle tells whether fi shows fl unchanged since no complete line was left.
func (fl *file) idle(fi os.FileInfo) bool {
	return fi.Size() == fl.idleSize && fi.ModTime().Equal(fl.idleMod)
}

func (c checkpoint) equal(o checkpoint) bool {
	return c.Path == o.Path && c.Dev == o.Dev && c.Ino == o.Ino && c.FPLen == o.FPLen &&
		bytes.Equal(c.FP, o.FP) && c.Offset == o.Offset && c.Line == o.Line
}
