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

// The same on long patterns and names made from them (stars filled in, one
// byte changed or cut short), so the 16-byte heads are what decides.
func TestFilterHeadsNeverRuleOutAMatch(t *testing.T) {
	r := rand.New(rand.NewPCG(10, 11))
	lit := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = "ab/"[r.IntN(3)]
		}
		return string(b)
	}
	ruledOut, may := 0, 0
	for range 2_000 {
		var sets []Set
		var pats []string
		for range 1 + r.IntN(3) {
			var ps []string
			for range 1 + r.IntN(3) {
				p := lit(r.IntN(24))
				for range r.IntN(3) {
					p += "*" + lit(r.IntN(6))
				}
				ps = append(ps, p)
			}
			pats = append(pats, ps...)
			sets = append(sets, CompileAll(ps))
		}
		f := NewFilter(sets...)
		for range 40 {
			var name string
			for _, part := range Compile(pats[r.IntN(len(pats))]).parts {
				name += part + lit(r.IntN(4))
			}
			switch b := []byte(name); {
			case len(b) > 0 && r.IntN(2) == 0:
				b[r.IntN(len(b))] = "ab/x"[r.IntN(4)]
				name = string(b)
			case len(b) > 0 && r.IntN(3) == 0:
				name = name[:r.IntN(len(b))]
			}
			match := false
			for _, s := range sets {
				match = match || s.Match(name)
			}
			if f.May(name) {
				may++
			} else {
				ruledOut++
				if match {
					t.Fatalf("name %q matches %q but the filter rules it out", name, pats)
				}
			}
		}
	}
	if ruledOut == 0 || may == 0 {
		t.Fatalf("ruled out %d, may %d: both should happen", ruledOut, may)
	}
}
