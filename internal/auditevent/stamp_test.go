package auditevent

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// checkStamp holds parseStamp and validStamp to time.Parse(time.RFC3339):
// the same answer, the same instant in the same zone.
func checkStamp(t *testing.T, s string) {
	t.Helper()
	want, werr := time.Parse(time.RFC3339, s)
	got, err := parseStamp(s)
	if (err == nil) != (werr == nil) || validStamp(s) != (werr == nil) {
		t.Fatalf("%q: parseStamp %v, validStamp %v, time.Parse %v", s, err, validStamp(s), werr)
	}
	if err == nil && (!got.Equal(want) || got.Location().String() != want.Location().String() ||
		got.UnixNano() != want.UnixNano()) {
		t.Fatalf("%q: parseStamp %v, time.Parse %v", s, got, want)
	}
}

// The fields' edges, every year's February and the separators, each
// alone, and random stamps of Flipt's form with any byte in any place.
func TestParseStampIsTimeParse(t *testing.T) {
	for _, y := range []int{0, 1, 4, 100, 400, 1600, 1677, 1678, 1900, 1970, 2000, 2024, 2100, 2262, 2263, 9999} {
		for mo := 0; mo <= 13; mo++ {
			for _, d := range []int{0, 1, 28, 29, 30, 31, 32} {
				checkStamp(t, fmt.Sprintf("%04d-%02d-%02dT12:34:56Z", y, mo, d))
			}
		}
	}
	for _, hms := range []string{"00:00:00", "23:59:59", "24:00:00", "23:60:00", "23:59:60", "99:99:99", "1:02:03", "01:2:03"} {
		checkStamp(t, "2026-11-24T"+hms+"Z")
	}
	for _, s := range []string{
		"2026-11-24T20:53:42Z", "2026-11-24T20:53:42z", "2026-11-24t20:53:42Z", "2026-11-24 20:53:42Z",
		"2026-11-24T20:53:42.5Z", "2026-11-24T20:53:42+02:00", "2026-11-24T20:53:42-00:00", "2026-11-24T20:53:42",
		"2026-11-24T20:53:42ZZ", "+026-11-24T20:53:42Z", "-026-11-24T20:53:42Z", "2026/11/24T20:53:42Z", "",
	} {
		checkStamp(t, s)
	}
	r := rand.New(rand.NewPCG(5, 6))
	const form = "2006-01-02T15:04:05Z"
	for range 200000 {
		b := []byte(time.Unix(r.Int64N(1<<37)-1<<36, 0).UTC().Format(form))
		if len(b) != len(form) {
			continue
		}
		switch r.IntN(3) {
		case 0:
			b[r.IntN(len(b))] = byte(r.IntN(256))
		case 1:
			b[r.IntN(len(b))] = "0123456789-:TZ+."[r.IntN(16)]
		}
		checkStamp(t, string(b))
	}
}
