package filetail

import (
	"os"
	"time"
)

// file is one tailed file. It is kept open so a file renamed or deleted by
// rotation can still be read to its end.
type file struct {
	f    *os.File
	id   fileID
	path string
	fp   fingerprint
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

// idle tells whether fi shows fl unchanged since no complete line was left.
func (fl *file) idle(fi os.FileInfo) bool {
	return fi.Size() == fl.idleSize && fi.ModTime().Equal(fl.idleMod)
}
