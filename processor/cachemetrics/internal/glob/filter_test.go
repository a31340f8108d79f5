package glob

import (
	"math/rand/v2"
	"testing"
)

// The filter never rules out a name a pattern matches, on random patterns
// and names over a small alphabet (so matches are common), and it does
// rule names out.
func TestFilterNeverRulesOutAMatch(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 9))
	word := func(stars bool) string {
		b := make([]byte, r.IntN(6))
		for i := range b {
			b[i] = "ab.*"[r.IntN(map[bool]int{true: 4, false: 3}[stars])]
		}
		return string(b)
	}
	ruledOut := 0
	for range 2_000 {
		var sets []Set
		for range 1 + r.IntN(3) {
			var ps []string
			for range 1 + r.IntN(3) {
				ps = append(ps, word(true))
			}
			sets = append(sets, CompileAll(ps))
		}
		f := NewFilter(sets...)
		for range 20 {
			name := word(false)
			match := false
			for _, s := range sets {
				match = match || s.Match(name)
			}
			if !f.May(name) {
				ruledOut++
				if match {
					t.Fatalf("name %q matches %v but the filter rules it out", name, sets)
				}
			}
		}
	}
	if ruledOut == 0 {
		t.Fatal("the filter never ruled a name out")
	}
	if f := NewFilter(); f.May("") || f.May("x") {
		t.Fatal("no pattern: nothing may match")
	}
}
