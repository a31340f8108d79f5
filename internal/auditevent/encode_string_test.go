package auditevent

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// jsonString is s quoted by encoding/json, the reference for appendString.
func jsonString(t testing.TB, s string, escapeHTML bool) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(escapeHTML)
	require.NoError(t, enc.Encode(s))
	return string(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

// TestAppendStringEveryByteEveryPlace puts each byte value at each place of
// strings long enough to take the 8-byte path before, across and after it,
// so every lane of the word test meets every byte.
func TestAppendStringEveryByteEveryPlace(t *testing.T) {
	for _, escapeHTML := range []bool{true, false} {
		for n := 1; n <= 24; n++ {
			for at := range n {
				for c := range 256 {
					b := bytes.Repeat([]byte{'a'}, n)
					b[at] = byte(c)
					s := string(b)
					require.Equal(t, jsonString(t, s, escapeHTML), string(appendString(nil, s, escapeHTML)),
						"byte %#x at %d of %d, escapeHTML %v", c, at, n, escapeHTML)
				}
			}
		}
	}
}

func TestAppendStringRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "Z", "0", " ", "\"", "\\", "<", ">", "&", "\n", "\x00", "\x1f", "\x7f", "é", "\u2028", "\u2029", "\xff", "\xe2\x80", "😀"}
	for range 20000 {
		var b []byte
		for range r.IntN(40) {
			b = append(b, alphabet[r.IntN(len(alphabet))]...)
		}
		s := string(b)
		for _, escapeHTML := range []bool{true, false} {
			require.Equal(t, jsonString(t, s, escapeHTML), string(appendString(nil, s, escapeHTML)), "%q", s)
		}
	}
}

func BenchmarkAppendString(b *testing.B) {
	s := `Tom & Jerry <beta> "quoted" and a longer description of a flag that is mostly plain ASCII text`
	buf := make([]byte, 0, 256)
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		buf = appendString(buf[:0], s, true)
	}
}
