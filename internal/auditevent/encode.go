package auditevent

import (
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// Format is a byte layout of Flipt's for one event.
type Format int

const (
	// FormatJSON is Flipt's log sink with encoding: json.
	FormatJSON Format = iota
	// FormatConsole is Flipt's log sink with its default console encoding.
	FormatConsole
	// FormatWebhook is the body of Flipt's webhook POST.
	FormatWebhook
)

// ParseFormat maps a config value to a Format.
func ParseFormat(s string) (Format, error) {
	switch s {
	case "json":
		return FormatJSON, nil
	case "console":
		return FormatConsole, nil
	case "webhook":
		return FormatWebhook, nil
	}
	return 0, fmt.Errorf("unknown format %q (want json, console or webhook)", s)
}

func (f Format) String() string {
	switch f {
	case FormatJSON:
		return "json"
	case FormatConsole:
		return "console"
	case FormatWebhook:
		return "webhook"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// The keys Flipt knows, by index (keyIndex), and its encoders' orders of
// them.
var (
	knownKeys    = [...]string{KeyVersion, KeyType, KeyAction, KeyStatus, KeyMetadata, KeyPayload, KeyTimestamp}
	logOrder     = [...]uint8{0, 1, 2, 3, 4, 5, 6}
	webhookOrder = [...]uint8{0, 1, 2, 4, 5, 6, 3}
)

// keyIndex is k's index in knownKeys, or -1 for a key Flipt does not know.
// The scan asks with a key's raw bytes, which the switch reads in place.
func keyIndex[K string | []byte](k K) int {
	switch string(k) {
	case KeyVersion:
		return 0
	case KeyType:
		return 1
	case KeyAction:
		return 2
	case KeyStatus:
		return 3
	case KeyMetadata:
		return 4
	case KeyPayload:
		return 5
	case KeyTimestamp:
		return 6
	}
	return -1
}

// members are the known keys quoted, with the colon after them, as the
// first member and as a later one, in one layout's separators.
type members struct {
	sep, colon  string
	first, next [len(knownKeys)][]byte
}

var compactMembers, consoleMembers = newMembers(",", ":"), newMembers(", ", ": ")

func newMembers(sep, colon string) *members {
	m := &members{sep: sep, colon: colon}
	for i, k := range knownKeys {
		// The known keys are plain ASCII: quoted the same with or without
		// HTML escaping.
		m.first[i] = append(appendString(nil, k, false), colon...)
		m.next[i] = append([]byte(sep), m.first[i]...)
	}
	return m
}

// Append appends the event in body to dst in format f, without a trailing
// newline. Keys Flipt does not know follow its own, in received order.
func Append(dst []byte, body pcommon.Map, f Format) []byte {
	// One walk finds the known keys (the first of each, as Map.Get would)
	// and tells whether there are others.
	var vals [len(knownKeys)]pcommon.Value
	var have uint8
	others := false
	for k, v := range body.All() {
		if i := keyIndex(k); i < 0 {
			others = true
		} else if have&(1<<i) == 0 {
			vals[i], have = v, have|1<<i
		}
	}
	order, escapeHTML, m := logOrder[:], false, compactMembers
	switch f {
	case FormatWebhook:
		order, escapeHTML = webhookOrder[:], true
	case FormatConsole:
		m = consoleMembers
	}
	if have&1 != 0 && vals[0].Str() == versionLegacy {
		// Before v1.44 every sink used encoding/json on the webhook layout.
		order, escapeHTML = webhookOrder[:], true
	}
	dst = append(dst, '{')
	n := 0
	for _, i := range order {
		if have&(1<<i) == 0 {
			continue
		}
		if n == 0 {
			dst = append(dst, m.first[i]...)
		} else {
			dst = append(dst, m.next[i]...)
		}
		n++
		dst = appendValue(dst, vals[i], escapeHTML)
	}
	if others {
		for k, v := range body.All() {
			if keyIndex(k) >= 0 {
				continue
			}
			if n > 0 {
				dst = append(dst, m.sep...)
			}
			n++
			dst = appendString(dst, k, escapeHTML)
			dst = append(dst, m.colon...)
			dst = appendValue(dst, v, escapeHTML)
		}
	}
	return append(dst, '}')
}

// AppendValue appends v as compact JSON, as Go's encoding/json would write
// it (escapeHTML as in json.Encoder.SetEscapeHTML).
func AppendValue(dst []byte, v pcommon.Value, escapeHTML bool) []byte {
	return appendValue(dst, v, escapeHTML)
}

func appendValue(dst []byte, v pcommon.Value, escapeHTML bool) []byte {
	if s := v.Str(); s != "" {
		// Most values: one type assertion instead of Type's switch.
		return appendString(dst, s, escapeHTML)
	}
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return appendString(dst, v.Str(), escapeHTML)
	case pcommon.ValueTypeInt:
		return strconv.AppendInt(dst, v.Int(), 10)
	case pcommon.ValueTypeDouble:
		return appendFloat(dst, v.Double())
	case pcommon.ValueTypeBool:
		return strconv.AppendBool(dst, v.Bool())
	case pcommon.ValueTypeMap:
		dst = append(dst, '{')
		first := true
		for k, mv := range v.Map().All() {
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = appendString(dst, k, escapeHTML)
			dst = append(dst, ':')
			dst = appendValue(dst, mv, escapeHTML)
		}
		return append(dst, '}')
	case pcommon.ValueTypeSlice:
		dst = append(dst, '[')
		s := v.Slice()
		for i := 0; i < s.Len(); i++ {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendValue(dst, s.At(i), escapeHTML)
		}
		return append(dst, ']')
	case pcommon.ValueTypeBytes:
		// Not produced by the decoder; written as encoding/json writes []byte.
		return appendString(dst, v.AsString(), escapeHTML)
	}
	return append(dst, "null"...)
}

// appendFloat writes f as encoding/json writes a float64.
func appendFloat(dst []byte, f float64) []byte {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return append(dst, "null"...) // not representable; never decoded
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// 1e-07 becomes 1e-7, as encoding/json does.
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

const hexDigits = "0123456789abcdef"

// Bit masks over the bytes of a 64-bit word.
const (
	lowBits  = 0x0101010101010101
	highBits = 0x8080808080808080
)

// plainJSON and plainHTML tell the ASCII bytes written as they are, without
// and with HTML escaping.
var plainJSON, plainHTML = plainTables()

func plainTables() (j, h [utf8.RuneSelf]bool) {
	for b := range utf8.RuneSelf {
		j[b] = b >= 0x20 && b != '"' && b != '\\'
		h[b] = j[b] && b != '<' && b != '>' && b != '&'
	}
	return j, h
}

// plainWord reports whether none of the 8 bytes of w needs escaping or is
// outside ASCII, testing all of them at once. A false answer only sends
// the bytes through the byte-by-byte path.
func plainWord(w string, escapeHTML bool) bool {
	x := uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
		uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
	bad := x & highBits                       // not ASCII
	bad |= (x - 0x20*lowBits) &^ x & highBits // a control byte
	bad |= hasByte(x, '"') | hasByte(x, '\\')
	if escapeHTML {
		bad |= hasByte(x, '<') | hasByte(x, '>') | hasByte(x, '&')
	}
	return bad == 0
}

// hasByte is non-zero when some byte of x equals c.
func hasByte(x uint64, c byte) uint64 {
	v := x ^ (lowBits * uint64(c))
	return (v - lowBits) &^ v & highBits
}

// appendString writes s quoted with encoding/json's escaping rules.
func appendString(dst []byte, s string, escapeHTML bool) []byte {
	dst = append(dst, '"')
	start := 0
	// Most of an audit event is plain ASCII: it is skipped 8 bytes at a
	// time, at the start and after each byte that needed care, up to the
	// first word that is not plain; from there on byte by byte, so text
	// dense with escapes does not test each byte twice.
	plain := &plainJSON
	if escapeHTML {
		plain = &plainHTML
	}
	i, words := 0, true
	for i < len(s) {
		if words {
			for i+8 <= len(s) && plainWord(s[i:i+8], escapeHTML) {
				i += 8
			}
			words = false
			if i == len(s) {
				break
			}
		}
		if b := s[i]; b < utf8.RuneSelf {
			if plain[b] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start, words = i, true
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start, words = i, true
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start, words = i, true
			continue
		}
		i, words = i+size, true
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
