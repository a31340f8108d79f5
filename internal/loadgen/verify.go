package loadgen

import (
	"fmt"
	"strconv"
	"strings"
)

// Tally is what a far end received of a run.
type Tally struct {
	Expected   int   `json:"expected"`
	Found      int   `json:"found"`
	Missing    []int `json:"missing,omitempty"`
	Duplicates []int `json:"duplicates,omitempty"`
	// Unexpected counts keys of the run outside 0..Expected-1.
	Unexpected int `json:"unexpected"`
}

// OK reports no loss and no duplicate.
func (t Tally) OK() bool {
	return len(t.Missing) == 0 && len(t.Duplicates) == 0 && t.Unexpected == 0
}

func (t Tally) String() string {
	return fmt.Sprintf("expected %d, found %d, missing %d, duplicated %d, unexpected %d",
		t.Expected, t.Found, len(t.Missing), len(t.Duplicates), t.Unexpected)
}

// Verify counts the keys of run in data against sequence numbers
// 0..expected-1, each of which should appear exactly once.
func Verify(data []byte, run string, expected int) Tally {
	seen := make([]int, expected)
	t := Tally{Expected: expected}
	prefix := "lg-" + run + "-"
	for _, k := range KeysIn(data, run) {
		t.Found++
		n, err := strconv.Atoi(strings.TrimPrefix(k, prefix))
		if err != nil || n < 0 || n >= expected {
			t.Unexpected++
			continue
		}
		seen[n]++
	}
	for i, c := range seen {
		switch {
		case c == 0:
			t.Missing = append(t.Missing, i)
		case c > 1:
			t.Duplicates = append(t.Duplicates, i)
		}
	}
	return t
}
