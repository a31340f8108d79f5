package filetail

import (
	"bufio"
	"errors"
	"io"
	"math"
	"os"

	"github.com/otelcol-flipt/otelcol-flipt/internal/auditevent"
)

// maxLineSize is the line limit in force: Config.MaxLineSize, its default
// when zero.
func (c *Config) maxLineSize() int64 {
	if c.MaxLineSize <= 0 {
		return auditevent.DefaultMaxEventSize
	}
	return int64(c.MaxLineSize)
}

// readBufferSize is the read buffer; lines up to it are decoded in place.
const readBufferSize = 64 << 10

// Errors passed to onSkip besides the decoding errors of auditevent.
var (
	// ErrLineTooLong is a line longer than Config.MaxLineSize.
	ErrLineTooLong = errors.New("line longer than max_line_size")
	// ErrTornLine is an unterminated last line of a file that was rotated
	// away or deleted and has since stayed idle.
	ErrTornLine = errors.New("last line of a rotated or deleted file has no newline")
)

// lineReader reads complete lines; its buffers are reused across files.
type lineReader struct {
	br      *bufio.Reader
	buf     []byte // a line longer than br's buffer
	maxLine int64
}

func (r *lineReader) reset(f *os.File, at int64) {
	sec := io.NewSectionReader(f, at, math.MaxInt64-at)
	if r.br == nil {
		r.br = bufio.NewReaderSize(sec, readBufferSize)
		return
	}
	r.br.Reset(sec)
}

// scan reads up to maxLines complete lines of fl from its committed offset
// and calls fn with each line's number and content (without its line
// ending), or with ErrLineTooLong. A last line without newline is left
// unread. It returns the position and line count after the last complete
// line, and how many lines it read.
func (r *lineReader) scan(fl *file, maxLines int, fn func(no int64, content []byte, err error)) (end, line int64, n int, err error) {
	end, line = fl.offset, fl.line
	pos := end
	r.reset(fl.f, pos)
	for n < maxLines {
		start, size, tooLong := pos, int64(0), false
		r.buf = r.buf[:0]
		if fl.skipTo > start && fl.skipStart == start {
			pos, size, tooLong = fl.skipTo, fl.skipTo-start, true
			r.reset(fl.f, pos)
		}
		for {
			chunk, rerr := r.br.ReadSlice('\n')
			pos += int64(len(chunk))
			size += int64(len(chunk))
			if rerr == nil {
				line++
				n++
				end = pos
				if tooLong || size-1 > r.maxLine {
					fn(line, nil, ErrLineTooLong)
				} else {
					if len(r.buf) > 0 {
						chunk = append(r.buf, chunk...)
						r.buf = chunk[:0]
					}
					fn(line, trimEOL(chunk), nil)
				}
				break
			}
			if size > r.maxLine && !tooLong {
				tooLong, r.buf = true, r.buf[:0]
			}
			if !tooLong {
				r.buf = append(r.buf, chunk...)
			}
			if errors.Is(rerr, bufio.ErrBufferFull) {
				continue
			}
			if tooLong {
				fl.skipStart, fl.skipTo = start, pos
			}
			if errors.Is(rerr, io.EOF) {
				rerr = nil
			}
			return end, line, n, rerr
		}
	}
	return end, line, n, nil
}

func trimEOL(b []byte) []byte {
	b = b[:len(b)-1]
	if len(b) > 0 && b[len(b)-1] == '\r' {
		b = b[:len(b)-1]
	}
	return b
}
