package auditevent

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// checkString reads raw as one JSON value with the scan and the decoder,
// whose string loops skip plain words 8 bytes at a time, and holds them to
// what the byte-by-byte reading means: both agree, error for error; they
// accept what encoding/json accepts but invalid UTF-8, which they refuse
// rather than replace; and the decoded string is encoding/json's.
func checkString(t *testing.T, raw string) {
	t.Helper()
	data := []byte(raw)
	checkPlainPaths(t, data)
	s := newScanner(data, DefaultLimits())
	serr := s.oneValue(0)
	d := decoder{data: data, lim: DefaultLimits()}
	v := pcommon.NewValueEmpty()
	derr := d.oneValue(v, 0)
	if (serr == nil) != (derr == nil) || serr != nil && serr.Error() != derr.Error() {
		t.Fatalf("%q: scan %v, decoder %v", raw, serr, derr)
	}
	var want string
	jerr := json.Unmarshal(data, &want)
	inner := raw[1:max(len(raw)-1, 1)]
	// encoding/json makes U+FFFD of an unpaired surrogate escape too
	// (none of the inputs has U+FFFD of its own).
	accept := jerr == nil && utf8.ValidString(inner) && !strings.ContainsRune(want, utf8.RuneError)
	if accept != (derr == nil) {
		t.Fatalf("%q: decoder %v, encoding/json %v", raw, derr, jerr)
	}
	if derr == nil && (v.Type() != pcommon.ValueTypeStr || v.Str() != want) {
		t.Fatalf("%q: decoded %q, want %q", raw, v.AsString(), want)
	}
}

// checkPlainPaths holds the plain-ASCII paths of the scan's str and key
// and the decoder's str to the general loops they stand in front of: the
// same string, the same error, the same offset after it.
func checkPlainPaths(t *testing.T, data []byte) {
	t.Helper()
	fast, slow := newScanner(data, DefaultLimits()), newScanner(data, DefaultLimits())
	ferr, serr := fast.str(), slow.strSlow()
	if fmt.Sprint(ferr) != fmt.Sprint(serr) || fast.pos != slow.pos {
		t.Fatalf("%q: scan str %v at %d, strSlow %v at %d", data, ferr, fast.pos, serr, slow.pos)
	}
	fast, slow = newScanner(data, DefaultLimits()), newScanner(data, DefaultLimits())
	fk, ferr := fast.key(true)
	sk, serr := slow.decoder.strSlow()
	if fmt.Sprint(ferr) != fmt.Sprint(serr) || ferr == nil && (string(fk) != sk || fast.pos != slow.pos) {
		t.Fatalf("%q: scan key %q, %v at %d, strSlow %q, %v at %d", data, fk, ferr, fast.pos, sk, serr, slow.pos)
	}
	fd, sd := decoder{data: data}, decoder{data: data}
	fs, ferr := fd.str()
	ss, serr := sd.strSlow()
	if fs != ss || fmt.Sprint(ferr) != fmt.Sprint(serr) || fd.pos != sd.pos {
		t.Fatalf("%q: decoder str %q, %v at %d, strSlow %q, %v at %d", data, fs, ferr, fd.pos, ss, serr, sd.pos)
	}
}

// Every byte value, and a few runes and escapes, at every place of
// strings long enough to take the 8-byte path before, across and after
// it, so that every lane of the word test meets each of them.
func TestStringEveryByteEveryPlace(t *testing.T) {
	inserts := []string{`\n`, `\"`, `\\`, `\u00e9`, `\ud83d\ude00`, "é", "😀", "\u2028", "\xe2\x80", "\xff"}
	for c := range 256 {
		inserts = append(inserts, string([]byte{byte(c)}))
	}
	for n := 1; n <= 24; n++ {
		for at := range n {
			for _, in := range inserts {
				b := strings.Repeat("a", at) + in + strings.Repeat("a", n-at-1)
				checkString(t, `"`+b+`"`)
				checkString(t, `"`+b) // unterminated
			}
		}
	}
}

func TestStringRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	alphabet := []string{"a", "Z", "0", " ", "abcdefgh", "\"", "\\", `\n`, `\u0041`, `\ud83d\ude00`, `\ud83d`, "\n", "\x00", "\x1f", "\x7f", "é", "\u2028", "\xff", "\xe2\x80", "😀"}
	for range 20000 {
		var b strings.Builder
		b.WriteByte('"')
		for range r.IntN(40) {
			b.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		b.WriteByte('"')
		checkString(t, b.String())
	}
}

func TestRequiredIndexNamesRequiredKeys(t *testing.T) {
	for i, k := range requiredKeys {
		if got := requiredIndex(k); got != i {
			t.Errorf("requiredIndex(%q) = %d, want %d", k, got, i)
		}
	}
	for _, k := range []string{KeyStatus, KeyMetadata, KeyPayload, "", "versions", "Type"} {
		if got := requiredIndex(k); got != -1 {
			t.Errorf("requiredIndex(%q) = %d, want -1", k, got)
		}
	}
}

// plainEnd, which tests 8 bytes at a time and finds the stop in the word,
// stops where a byte-by-byte walk would: at the first quote, backslash,
// control byte or byte outside ASCII, for every byte value at every place
// of every word, after any other stop in the same word, from every start.
func TestPlainEndIsTheByteWalk(t *testing.T) {
	walk := func(data []byte, i int) int {
		for i < len(data) && data[i] >= 0x20 && data[i] < utf8.RuneSelf && data[i] != '"' && data[i] != '\\' {
			i++
		}
		return i
	}
	for n := 0; n <= 20; n++ {
		for at := range n {
			for c := range 256 {
				for _, later := range []byte{'a', '"', 0x00, 0x1f, 0xff, '\\', 0x20, 0x7f, 0x80} {
					data := []byte(strings.Repeat("a", n))
					data[at] = byte(c)
					if at+1 < n {
						data[n-1] = later
					}
					for i := 0; i <= n; i++ {
						if got, want := plainEnd(data, i), walk(data, i); got != want {
							t.Fatalf("plainEnd(%q, %d) = %d, want %d", data, i, got, want)
						}
					}
				}
			}
		}
	}
}

// skipSpace's one comparison in front of its switch steps over exactly
// JSON's four space bytes, whatever byte follows.
func TestSkipSpaceEveryByte(t *testing.T) {
	for c := range 256 {
		for _, lead := range []string{"", " ", " \t\n\r"} {
			d := decoder{data: append([]byte(lead), byte(c), ' ')}
			d.skipSpace()
			want := len(lead)
			if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
				want = len(d.data)
			}
			if d.pos != want {
				t.Fatalf("skipSpace over %q stops at %d, want %d", d.data, d.pos, want)
			}
		}
	}
}
