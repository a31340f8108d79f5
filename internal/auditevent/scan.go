package auditevent

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// scanner walks JSON without building anything. It checks what can refuse
// a body before its tree costs memory: the syntax, max_depth, max_members,
// max_elements, and the top-level fields of each event. A body it passes
// can still fail to build only on a duplicate key.
//
// Its facts (the decoder's field) get the member count of every object
// with a member, in the order the decoder reaches their first member, so
// that the decoder sizes each at once instead of growing it (and knows a
// wide object's size when it widens), and where its first strings end.
type scanner struct {
	decoder
	elements int // JSON values seen so far, of every kind
}

func newScanner(data []byte, lim Limits) *scanner {
	return &scanner{decoder: decoder{data: data, lim: lim}}
}

// count adds one JSON value to the budget.
func (s *scanner) count() error {
	if s.elements++; s.elements > s.lim.MaxElements {
		return &LimitError{Limit: "max_elements", Max: s.lim.MaxElements, Offset: s.pos}
	}
	return nil
}

// value skips one JSON value at depth (that of its container).
func (s *scanner) value(depth int) error {
	s.skipSpace()
	if s.pos >= len(s.data) {
		return s.fail("unexpected end of input")
	}
	if err := s.count(); err != nil {
		return err
	}
	switch c := s.data[s.pos]; {
	case c == '{':
		return s.object(depth+1, nil)
	case c == '[':
		return s.array(depth + 1)
	case c == '"':
		return s.str()
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return s.number()
	default:
		return s.fail("unexpected character %q", c)
	}
}

// oneValue skips data, which must hold exactly one JSON value.
func (s *scanner) oneValue(depth int) error {
	if err := s.value(depth); err != nil {
		return err
	}
	return s.end("JSON value")
}

// object skips the object at s.pos (already counted). member, when not
// nil, is given each raw key (decoded if it had escapes) and must skip the
// member's value itself.
func (s *scanner) object(depth int, member func(key []byte) error) error {
	if depth > s.lim.MaxDepth {
		return s.tooDeep()
	}
	s.pos++ // '{'
	sized := -1
	for n := 0; ; n++ {
		s.skipSpace()
		if s.pos >= len(s.data) {
			return s.fail("unexpected end of input in object")
		}
		if s.data[s.pos] == '}' && n == 0 {
			s.pos++
			return nil
		}
		if n > 0 {
			switch s.data[s.pos] {
			case ',':
				s.pos++
				s.skipSpace()
			case '}':
				s.pos++
				if sized >= 0 {
					s.facts.sizes.set(sized, int32(n))
				}
				return nil
			default:
				return s.fail("expected ',' or '}' in object")
			}
		}
		if s.pos >= len(s.data) || s.data[s.pos] != '"' {
			return s.fail("expected a string key")
		}
		key, err := s.key(member != nil)
		if err != nil {
			return err
		}
		s.skipSpace()
		if s.pos >= len(s.data) || s.data[s.pos] != ':' {
			return s.fail("expected ':' after key")
		}
		s.pos++
		if n >= s.lim.MaxMembers {
			return &LimitError{Limit: "max_members", Max: s.lim.MaxMembers, Offset: s.pos}
		}
		if n == 0 {
			// Where the decoder sizes this object: at its first member,
			// before its value, which may hold objects of its own; the
			// map's first insert would otherwise allocate a slice the
			// sizing then replaces.
			sized = s.facts.sizes.add()
		}
		if member == nil {
			err = s.value(depth)
		} else {
			err = member(key)
		}
		if err != nil {
			return err
		}
	}
}

// key skips the key at s.pos and, if want, returns it: the raw bytes when
// it has no escape, which is every key Flipt writes, so no copy is made.
func (s *scanner) key(want bool) ([]byte, error) {
	if end := plainEnd(s.data, s.pos+1); end < len(s.data) && s.data[end] == '"' {
		raw := s.data[s.pos+1 : end]
		s.facts.ends.add(end - s.pos - 1)
		s.pos = end + 1
		return raw, nil
	}
	s.facts.ends.add(notPlainString)
	start := s.pos
	if err := s.strSlow(); err != nil {
		return nil, err
	}
	if !want {
		return nil, nil
	}
	raw := s.data[start+1 : s.pos-1]
	if bytes.IndexByte(raw, '\\') < 0 {
		return raw, nil
	}
	// Data cut after the key: a decoder sizes its string arena by what is
	// left of its data.
	d := decoder{data: s.data[:s.pos], pos: start}
	k, err := d.str()
	return []byte(k), err
}

func (s *scanner) array(depth int) error {
	if depth > s.lim.MaxDepth {
		return s.tooDeep()
	}
	s.pos++ // '['
	for first := true; ; first = false {
		s.skipSpace()
		if s.pos >= len(s.data) {
			return s.fail("unexpected end of input in array")
		}
		if s.data[s.pos] == ']' && first {
			s.pos++
			return nil
		}
		if !first {
			switch s.data[s.pos] {
			case ',':
				s.pos++
			case ']':
				s.pos++
				return nil
			default:
				return s.fail("expected ',' or ']' in array")
			}
		}
		if err := s.value(depth); err != nil {
			return err
		}
	}
}

// number skips a number with the decoder's rules, out of range included.
func (s *scanner) number() error {
	start := s.pos
	if s.data[s.pos] == '-' {
		s.pos++
	}
	digits := func() int {
		n := 0
		for s.pos < len(s.data) && s.data[s.pos] >= '0' && s.data[s.pos] <= '9' {
			s.pos++
			n++
		}
		return n
	}
	intStart := s.pos
	if n := digits(); n == 0 || (n > 1 && s.data[intStart] == '0') {
		return s.fail("invalid number")
	}
	exponent := false
	if s.pos < len(s.data) && s.data[s.pos] == '.' {
		s.pos++
		if digits() == 0 {
			return s.fail("invalid number")
		}
	}
	if s.pos < len(s.data) && (s.data[s.pos] == 'e' || s.data[s.pos] == 'E') {
		s.pos++
		exponent = true
		if s.pos < len(s.data) && (s.data[s.pos] == '+' || s.data[s.pos] == '-') {
			s.pos++
		}
		if digits() == 0 {
			return s.fail("invalid number")
		}
	}
	// Only an exponent or more digits than the largest double has can
	// overflow; parsing just those keeps the scan free of allocations.
	if lit := s.data[start:s.pos]; exponent || len(lit) > 308 {
		// The literal is not kept, and data outlives the call.
		f, err := strconv.ParseFloat(unsafe.String(&lit[0], len(lit)), 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) || math.IsInf(f, 0) {
			return s.fail("number %s out of range", lit)
		}
	}
	return nil
}

// str skips a string with the decoder's rules: escapes, control
// characters, surrogates and UTF-8 are checked, nothing is copied.
func (s *scanner) str() error {
	if end := plainEnd(s.data, s.pos+1); end < len(s.data) && s.data[end] == '"' {
		s.facts.ends.add(end - s.pos - 1)
		s.pos = end + 1 // plain ASCII up to the quote: nothing else to check
		return nil
	}
	s.facts.ends.add(notPlainString)
	return s.strSlow()
}

// strSlow is str for any string: every string Flipt writes with an escape
// or a byte outside ASCII.
func (s *scanner) strSlow() error {
	s.pos++ // opening quote
	start := s.pos
	seg := s.pos  // start of the run of bytes since the last escape
	ascii := true // the run is ASCII so far: valid UTF-8 without a look
	for {
		if s.pos = plainEnd(s.data, s.pos); s.pos >= len(s.data) {
			break
		}
		c := s.data[s.pos]
		switch {
		case c == '"':
			valid := ascii || utf8.Valid(s.data[seg:s.pos])
			s.pos++
			if !valid {
				return &SyntaxError{Offset: start, Msg: "string is not valid UTF-8"}
			}
			return nil
		case c < 0x20:
			return s.fail("control character in string")
		case c != '\\':
			// Not ASCII: its run is checked as UTF-8 at its end.
			ascii = false
			s.pos = nonASCIIEnd(s.data, s.pos)
			continue
		}
		// An escape writes whole runes, so the runs between escapes are
		// valid UTF-8 exactly when the decoded string is.
		if !ascii && !utf8.Valid(s.data[seg:s.pos]) {
			return s.invalidUTF8(start)
		}
		s.pos++ // backslash
		if s.pos >= len(s.data) {
			break
		}
		e := s.data[s.pos]
		s.pos++
		switch e {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		case 'u':
			r, ok := s.hex4()
			if !ok {
				return s.fail("invalid \\u escape")
			}
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if s.pos+1 < len(s.data) && s.data[s.pos] == '\\' && s.data[s.pos+1] == 'u' {
					s.pos += 2
					if r2, ok = s.hex4(); !ok {
						return s.fail("invalid \\u escape")
					}
				}
				if utf16.DecodeRune(r, r2) == utf8.RuneError {
					return s.fail("unpaired surrogate in \\u escape")
				}
			}
		default:
			return s.fail("invalid escape \\%c", e)
		}
		seg, ascii = s.pos, true
	}
	return s.fail("unterminated string")
}

// plainEnd returns the offset of the first byte from data[i:] that is not
// plain (see notPlain), or len(data). Most of an event's strings is plain
// ASCII: it is tested 8 bytes at a time, and the first byte that is not
// plain found in the word without a second look.
func plainEnd(data []byte, i int) int {
	if i >= len(data) {
		return i
	}
	// The rest as its own slice: its length bounds each word's load.
	for rest := data[i:]; len(rest) >= 8; rest = rest[8:] {
		if bad := notPlain(binary.LittleEndian.Uint64(rest)); bad != 0 {
			return i + bits.TrailingZeros64(bad)/8
		}
		i += 8
	}
	for i < len(data) && data[i] < utf8.RuneSelf && plainJSON[data[i]] {
		i++
	}
	return i
}

// nonASCIIEnd returns the offset of the first ASCII byte from data[i:],
// or len(data).
func nonASCIIEnd(data []byte, i int) int {
	for i < len(data) && data[i] >= utf8.RuneSelf {
		i++
	}
	return i
}

// notPlain has the high bit of each byte of the 8 in x that is a quote, a
// backslash, a control byte or outside ASCII: bytes a string's loops stop
// at. Above the lowest such byte it may mark others (a borrow carries up),
// never below, so its lowest bit is exact.
func notPlain(x uint64) uint64 {
	q := x ^ '"'*lowBits
	b := x ^ '\\'*lowBits
	return ((x-0x20*lowBits)&^x | (q-lowBits)&^q | (b-lowBits)&^b | x) & highBits
}

// invalidUTF8 reports invalid UTF-8 where the decoder would: it reads the
// whole string first, so a later syntax error in it takes precedence.
func (s *scanner) invalidUTF8(start int) error {
	// Data cut after the string, as in key.
	d := decoder{data: s.data[:min(rawStringEnd(s.data, start)+1, len(s.data))], pos: start - 1}
	if _, err := d.str(); err != nil {
		return err
	}
	return &SyntaxError{Offset: start, Msg: "string is not valid UTF-8"}
}

// Field states of an event during the scan.
const (
	fieldMissing = iota
	fieldOK
	fieldBad
)

// eventFields is what the scan learns of an event's top level, enough to
// refuse it as Fill would before its tree is built.
type eventFields struct {
	required [4]int // version, type, action, timestamp
	stamp    [2]int // offsets of the timestamp string, quotes included
	status   int
	metadata int
	actor    int
}

var requiredKeys = [...]string{KeyVersion, KeyType, KeyAction, KeyTimestamp}

// requiredOf maps a key's index in knownKeys to its place in requiredKeys.
var requiredOf = [len(knownKeys)]int8{0, 1, 2, -1, -1, -1, 3}

// requiredIndex is k's place in requiredKeys, or -1: one switch (keyIndex),
// not a comparison with each required key.
func requiredIndex[K string | []byte](k K) int {
	if i := keyIndex(k); i >= 0 {
		return int(requiredOf[i])
	}
	return -1
}

// event skips one event object, counting it, and refuses it if it is not
// an object or its top-level fields are not those of an event.
func (s *scanner) event() error {
	s.skipSpace()
	if s.pos >= len(s.data) || s.data[s.pos] != '{' {
		if s.pos >= len(s.data) {
			return s.fail("empty body, expected an audit event object")
		}
		return s.fail("expected an audit event object")
	}
	if err := s.count(); err != nil {
		return err
	}
	var f eventFields
	err := s.object(1, func(key []byte) error {
		s.skipSpace()
		next := byte(0)
		if s.pos < len(s.data) {
			next = s.data[s.pos]
		}
		if i := requiredIndex(key); i >= 0 {
			start := s.pos
			f.required[i] = fieldBad
			// An escape decodes to at least one byte: only "" is empty.
			if next == '"' && s.pos+1 < len(s.data) && s.data[s.pos+1] != '"' {
				f.required[i] = fieldOK
			}
			if err := s.value(1); err != nil {
				return err
			}
			if i == len(requiredKeys)-1 {
				f.stamp = [2]int{start, s.pos}
			}
			return nil
		}
		switch string(key) {
		case KeyStatus:
			f.status = fieldBad
			if next == '"' {
				f.status = fieldOK
			}
		case KeyMetadata:
			f.metadata, f.actor = fieldBad, fieldMissing
			switch next {
			case 'n':
				f.metadata = fieldOK
			case '{':
				f.metadata = fieldOK
				if err := s.count(); err != nil {
					return err
				}
				return s.object(2, func(key []byte) error {
					if string(key) != KeyActor {
						return s.value(2)
					}
					s.skipSpace()
					f.actor = fieldBad
					if s.pos < len(s.data) && (s.data[s.pos] == '{' || s.data[s.pos] == 'n') {
						f.actor = fieldOK
					}
					return s.value(2)
				})
			}
		}
		return s.value(1)
	})
	if err != nil {
		return err
	}
	return f.check(s.data)
}

// check refuses the event with Fill's error, in Fill's order.
func (f *eventFields) check(data []byte) error {
	for i, k := range requiredKeys {
		switch f.required[i] {
		case fieldMissing:
			return fmt.Errorf("%w: missing %q", ErrNotEvent, k)
		case fieldBad:
			return fmt.Errorf("%w: %q must be a non-empty string", ErrNotEvent, k)
		}
	}
	// The stamp read in place when it has no escape (Flipt's never has):
	// validStamp keeps nothing of it, and the error below copies it.
	ts := ""
	if raw := data[f.stamp[0]+1 : f.stamp[1]-1]; bytes.IndexByte(raw, '\\') < 0 {
		ts = unsafe.String(unsafe.SliceData(raw), len(raw))
	} else {
		d := decoder{data: data[:f.stamp[1]], pos: f.stamp[0]}
		var err error
		if ts, err = d.str(); err != nil {
			return err
		}
	}
	if !validStamp(ts) {
		return fmt.Errorf("%w: timestamp %q is not RFC 3339", ErrNotEvent, ts)
	}
	if f.status == fieldBad {
		return fmt.Errorf("%w: %q must be a string", ErrNotEvent, KeyStatus)
	}
	switch {
	case f.metadata == fieldBad:
		return fmt.Errorf("%w: %q must be an object", ErrNotEvent, KeyMetadata)
	case f.actor == fieldBad:
		return fmt.Errorf("%w: metadata.actor must be an object", ErrNotEvent)
	}
	return nil
}

// oneRecord skips data, which must hold exactly one event.
func (s *scanner) oneRecord() error {
	if err := s.event(); err != nil {
		return err
	}
	return s.end("event")
}

// allRecords skips a body as decoder.allRecords reads it, with the same
// errors, and returns how many events come before the first refused.
func (s *scanner) allRecords() (int, error) {
	s.skipSpace()
	if s.pos < len(s.data) && s.data[s.pos] == '[' {
		return s.records()
	}
	for n := 0; ; n++ {
		s.skipSpace()
		if s.pos >= len(s.data) {
			if n == 0 {
				return 0, &EventError{Index: -1, Err: s.fail("empty body, expected an audit event")}
			}
			return n, nil
		}
		if err := s.event(); err != nil {
			return n, &EventError{Index: n, Err: err}
		}
	}
}

func (s *scanner) records() (int, error) {
	s.pos++ // '['
	for n := 0; ; n++ {
		s.skipSpace()
		if s.pos >= len(s.data) {
			return n, &EventError{Index: n, Err: s.fail("unexpected end of input in array")}
		}
		if s.data[s.pos] == ']' && n == 0 {
			return 0, &EventError{Index: -1, Err: s.fail("empty array, expected audit events")}
		}
		if n > 0 {
			switch s.data[s.pos] {
			case ']':
				s.pos++
				s.skipSpace()
				if s.pos != len(s.data) {
					return n, &EventError{Index: -1, Err: s.fail("unexpected data after the array")}
				}
				return n, nil
			case ',':
				s.pos++
			default:
				return n, &EventError{Index: n, Err: s.fail("expected ',' or ']' in array")}
			}
		}
		if err := s.event(); err != nil {
			return n, &EventError{Index: n, Err: err}
		}
	}
}

// bytesOf returns the bytes of str without a copy, for reading only: a
// span event's payload can be as large as a webhook body.
func bytesOf(str string) []byte {
	return unsafe.Slice(unsafe.StringData(str), len(str))
}
