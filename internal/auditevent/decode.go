package auditevent

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/xpdata"
)

// SyntaxError is malformed JSON at a byte offset.
type SyntaxError struct {
	Offset int
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("invalid JSON at byte %d: %s", e.Offset, e.Msg)
}

// decoder is a small JSON reader that keeps object key order and the
// distinction between integer and fractional numbers, which encoding/json's
// map[string]any would lose.
type decoder struct {
	data     []byte
	pos      int
	sortKeys bool
	lim      Limits
	// facts is what the scan of the same data learnt for the decoder;
	// next and nextStr are the next object size and string end to take.
	facts   scanFacts
	next    int
	nextStr int
	// arena holds the bytes of the strings decoded so far, one allocation
	// for many of them instead of one each. Its bytes are never written
	// twice.
	arena []byte
}

// arenaChunk bounds an arena: a body of numbers with one string early
// would otherwise get an arena as large as itself, mostly unused.
const arenaChunk = 32 << 10

// reserve makes room in the arena for n more bytes of a string whose raw
// text starts at data[start:]: a new arena as large as what is left of
// data (the strings still to come cannot outgrow it, unescaping only
// shortens), up to arenaChunk, or n.
func (d *decoder) reserve(start, n int) {
	if cap(d.arena)-len(d.arena) < n {
		d.arena = make([]byte, 0, max(min(len(d.data)-start, arenaChunk), n))
	}
}

// keep copies b, a string's bytes, into the arena and returns them as a
// string.
func (d *decoder) keep(start int, b []byte) string {
	if len(b) == 0 {
		return ""
	}
	d.reserve(start, len(b))
	at := len(d.arena)
	d.arena = append(d.arena, b...)
	return unsafe.String(&d.arena[at], len(b))
}

// size returns the member count of the object whose first member is
// being read, or 0 if the scan did not see it.
func (d *decoder) size() int {
	if d.next < d.facts.sizes.n {
		d.next++
		return int(d.facts.sizes.at(d.next - 1))
	}
	return 0
}

func (d *decoder) fail(format string, args ...any) error {
	return d.failAt(d.pos, format, args...)
}

func (d *decoder) failAt(offset int, format string, args ...any) error {
	return &SyntaxError{Offset: offset, Msg: fmt.Sprintf(format, args...)}
}

func (d *decoder) tooDeep() error {
	return &LimitError{Limit: "max_depth", Max: d.lim.MaxDepth, Offset: d.pos}
}

// end refuses anything but space after the value just read: every path
// (webhook, file, span event) reads one value as one value.
func (d *decoder) end(what string) error {
	d.skipSpace()
	if d.pos != len(d.data) {
		return d.fail("unexpected data after the %s", what)
	}
	return nil
}

// skipSpace steps over JSON whitespace. Flipt writes none between tokens:
// one comparison tells most bytes apart from space.
func (d *decoder) skipSpace() {
	for d.pos < len(d.data) && d.data[d.pos] <= ' ' {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// value decodes one JSON value into dst.
func (d *decoder) value(dst pcommon.Value, depth int) error {
	d.skipSpace()
	if d.pos >= len(d.data) {
		return d.fail("unexpected end of input")
	}
	switch c := d.data[d.pos]; {
	case c == '{':
		return d.object(dst.SetEmptyMap(), depth+1)
	case c == '[':
		return d.array(dst.SetEmptySlice(), depth+1)
	case c == '"':
		s, err := d.str()
		if err != nil {
			return err
		}
		dst.SetStr(s)
	case c == 't':
		if err := d.literal("true"); err != nil {
			return err
		}
		dst.SetBool(true)
	case c == 'f':
		if err := d.literal("false"); err != nil {
			return err
		}
		dst.SetBool(false)
	case c == 'n':
		return d.literal("null") // dst stays empty, which encodes as null
	case c == '-' || (c >= '0' && c <= '9'):
		return d.number(dst)
	default:
		return d.fail("unexpected character %q", c)
	}
	return nil
}

// oneValue decodes data, which must hold exactly one JSON value, into dst
// at depth.
func (d *decoder) oneValue(dst pcommon.Value, depth int) error {
	if err := d.value(dst, depth); err != nil {
		return err
	}
	return d.end("JSON value")
}

func (d *decoder) literal(word string) error {
	if len(d.data)-d.pos < len(word) || string(d.data[d.pos:d.pos+len(word)]) != word {
		return d.fail("invalid literal")
	}
	d.pos += len(word)
	return nil
}

// member is an object member held back when keys must be sorted.
type member struct {
	key string
	val pcommon.Value
}

func (d *decoder) object(dst pcommon.Map, depth int) error {
	if depth > d.lim.MaxDepth {
		return d.tooDeep()
	}
	d.pos++ // '{'
	var held []member
	w := wideMap{dst: dst}
	for first := true; ; first = false {
		d.skipSpace()
		if d.pos >= len(d.data) {
			return d.fail("unexpected end of input in object")
		}
		if d.data[d.pos] == '}' && first {
			d.pos++
			break
		}
		if !first {
			switch d.data[d.pos] {
			case ',':
				d.pos++
				d.skipSpace()
			case '}':
				d.pos++
				if d.sortKeys {
					return d.flushSorted(dst, held)
				}
				w.finish()
				return nil
			default:
				return d.fail("expected ',' or '}' in object")
			}
		}
		if d.pos >= len(d.data) || d.data[d.pos] != '"' {
			return d.fail("expected a string key")
		}
		key, err := d.str()
		if err != nil {
			return err
		}
		d.skipSpace()
		if d.pos >= len(d.data) || d.data[d.pos] != ':' {
			return d.fail("expected ':' after key")
		}
		d.pos++
		if n := len(held) + w.n; n >= d.lim.MaxMembers {
			return &LimitError{Limit: "max_members", Max: d.lim.MaxMembers, Offset: d.pos}
		}
		if len(held)+w.n == 0 {
			// Sized once: Flipt's objects have a handful of members,
			// each growth of which would be a copy.
			w.size = d.size()
			if d.sortKeys {
				held = slices.Grow(held, max(w.size-len(held), 0))
			} else {
				dst.EnsureCapacity(min(w.size, narrowMembers))
			}
		}
		if d.sortKeys {
			v := pcommon.NewValueEmpty()
			if err := d.value(v, depth); err != nil {
				return err
			}
			held = append(held, member{key, v})
			continue
		}
		// encoding/json would keep the last of two equal keys and other
		// parsers the first; an audit record must not be read two ways.
		at := d.pos
		if d.skipSpace(); d.pos < len(d.data) && d.data[d.pos] == '"' {
			// Most members: a plain string, set as its member is made.
			if s, ok := d.plainStr(); ok {
				if !w.putStr(key, s) {
					return d.failAt(at, "duplicate key %q", key)
				}
				continue
			}
		}
		v, ok := w.put(key)
		if !ok {
			return d.failAt(at, "duplicate key %q", key)
		}
		if err := d.value(v, depth); err != nil {
			return err
		}
	}
	if d.sortKeys {
		return d.flushSorted(dst, held)
	}
	w.finish()
	return nil
}

// flushSorted writes held members in byte order of their keys, as Go's
// encoding/json writes a map (Flipt's sinks round-trip payloads that way).
func (d *decoder) flushSorted(dst pcommon.Map, held []member) error {
	if len(held) == 0 {
		return nil
	}
	slices.SortFunc(held, func(a, b member) int { return strings.Compare(a.key, b.key) })
	var mb xpdata.MapBuilder
	mb.EnsureCapacity(len(held))
	for i, m := range held {
		if i > 0 && held[i-1].key == m.key {
			return d.fail("duplicate key %q", m.key)
		}
		m.val.MoveTo(mb.AppendEmpty(m.key))
	}
	mb.UnsafeIntoMap(dst)
	return nil
}

func (d *decoder) array(dst pcommon.Slice, depth int) error {
	if depth > d.lim.MaxDepth {
		return d.tooDeep()
	}
	d.pos++ // '['
	for first := true; ; first = false {
		d.skipSpace()
		if d.pos >= len(d.data) {
			return d.fail("unexpected end of input in array")
		}
		if d.data[d.pos] == ']' && first {
			d.pos++
			return nil
		}
		if !first {
			switch d.data[d.pos] {
			case ',':
				d.pos++
			case ']':
				d.pos++
				return nil
			default:
				return d.fail("expected ',' or ']' in array")
			}
		}
		if err := d.value(dst.AppendEmpty(), depth); err != nil {
			return err
		}
	}
}

func (d *decoder) number(dst pcommon.Value) error {
	start := d.pos
	if d.data[d.pos] == '-' {
		d.pos++
	}
	digits := func() int {
		n := 0
		for d.pos < len(d.data) && d.data[d.pos] >= '0' && d.data[d.pos] <= '9' {
			d.pos++
			n++
		}
		return n
	}
	intStart := d.pos
	if n := digits(); n == 0 || (n > 1 && d.data[intStart] == '0') {
		return d.fail("invalid number")
	}
	integral := true
	if d.pos < len(d.data) && d.data[d.pos] == '.' {
		d.pos++
		integral = false
		if digits() == 0 {
			return d.fail("invalid number")
		}
	}
	if d.pos < len(d.data) && (d.data[d.pos] == 'e' || d.data[d.pos] == 'E') {
		d.pos++
		integral = false
		if d.pos < len(d.data) && (d.data[d.pos] == '+' || d.data[d.pos] == '-') {
			d.pos++
		}
		if digits() == 0 {
			return d.fail("invalid number")
		}
	}
	// Read in place: strconv keeps nothing of it (its errors copy), nor
	// does the error below.
	lit := unsafe.String(&d.data[start], d.pos-start)
	if integral {
		// "-0" stays a double so that it is written back as "-0".
		if i, err := strconv.ParseInt(lit, 10, 64); err == nil && (i != 0 || lit[0] != '-') {
			dst.SetInt(i)
			return nil
		}
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) || math.IsInf(f, 0) {
		return d.fail("number %s out of range", lit)
	}
	dst.SetDouble(f)
	return nil
}

// str reads a JSON string at d.pos (which is '"'). Invalid UTF-8 is refused
// rather than replaced, so what is accepted is kept exactly.
func (d *decoder) str() (string, error) {
	if s, ok := d.plainStr(); ok {
		return s, nil
	}
	return d.strSlow()
}

// plainStr reads the string at d.pos (which is '"') if it is plain ASCII
// up to its quote, kept as it is: such a string cannot fail. ok is false,
// and d.pos unmoved, for any other.
func (d *decoder) plainStr() (string, bool) {
	start := d.pos + 1
	end := 0
	if ends := &d.facts.ends; d.nextStr < ends.n {
		// The scan found where this string ends, or that it is not plain
		// (taken by strSlow).
		n := ends.len[d.nextStr]
		if n == notPlainString {
			return "", false
		}
		d.nextStr++
		end = start + int(n)
	} else if end = plainEnd(d.data, start); end >= len(d.data) || d.data[end] != '"' {
		return "", false
	}
	d.pos = end + 1
	if v, ok := interned(d.data[start:end]); ok {
		return v, true
	}
	return d.keep(start, d.data[start:end]), true
}

// strSlow is str for any string: every string Flipt writes with an escape
// or a byte outside ASCII.
func (d *decoder) strSlow() (string, error) {
	if d.nextStr < d.facts.ends.n {
		d.nextStr++ // the scan's word that this string is not plain
	}
	d.pos++ // opening quote
	start := d.pos
	ascii := true // valid UTF-8 without a look
	// Fast path: no escapes.
	for d.pos = plainEnd(d.data, d.pos); d.pos < len(d.data); d.pos = plainEnd(d.data, d.pos) {
		c := d.data[d.pos]
		if c == '"' {
			s := d.data[start:d.pos]
			d.pos++
			if v, ok := interned(s); ok {
				return v, nil
			}
			if !ascii && !utf8.Valid(s) {
				return "", &SyntaxError{Offset: start, Msg: "string is not valid UTF-8"}
			}
			return d.keep(start, s), nil
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			return "", d.fail("control character in string")
		}
		ascii = false
		d.pos = nonASCIIEnd(d.data, d.pos)
	}
	// Unescaping only shortens: the arena's room for the rest of the raw
	// string holds it, and the bytes become the string without a copy.
	d.reserve(start, rawStringEnd(d.data, d.pos)-start)
	at := len(d.arena)
	buf := append(d.arena[at:at], d.data[start:d.pos]...)
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		switch {
		case c == '"':
			d.pos++
			if !utf8.Valid(buf) {
				return "", &SyntaxError{Offset: start, Msg: "string is not valid UTF-8"}
			}
			if len(buf) == 0 {
				return "", nil
			}
			if unsafe.SliceData(buf) != unsafe.SliceData(d.arena[at:cap(d.arena)]) {
				// Outgrew its room (it cannot): buf is a copy of its own.
				return unsafe.String(&buf[0], len(buf)), nil
			}
			d.arena = d.arena[:at+len(buf)]
			return unsafe.String(&d.arena[at], len(buf)), nil
		case c < 0x20:
			return "", d.fail("control character in string")
		case c != '\\':
			buf = append(buf, c)
			d.pos++
			continue
		}
		d.pos++ // backslash
		if d.pos >= len(d.data) {
			break
		}
		e := d.data[d.pos]
		d.pos++
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := d.hex4()
			if !ok {
				return "", d.fail("invalid \\u escape")
			}
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if d.pos+1 < len(d.data) && d.data[d.pos] == '\\' && d.data[d.pos+1] == 'u' {
					d.pos += 2
					if r2, ok = d.hex4(); !ok {
						return "", d.fail("invalid \\u escape")
					}
				}
				if r = utf16.DecodeRune(r, r2); r == utf8.RuneError {
					return "", d.fail("unpaired surrogate in \\u escape")
				}
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return "", d.fail("invalid escape \\%c", e)
		}
	}
	return "", d.fail("unterminated string")
}

// rawStringEnd returns the offset of the quote that ends the string whose
// content is at data[i:], or len(data).
func rawStringEnd(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case '"':
			return i
		case '\\':
			i++
		}
		i++
	}
	return len(data)
}

func (d *decoder) hex4() (rune, bool) {
	if len(d.data)-d.pos < 4 {
		return 0, false
	}
	var r rune
	for _, c := range d.data[d.pos : d.pos+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	d.pos += 4
	return r, true
}
