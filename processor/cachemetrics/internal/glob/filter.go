package glob

// Filter rules out, by length and first byte alone, names that no pattern
// of some sets can match: most span names are not lookups, and most of
// those differ from every pattern in their first byte or are too short.
type Filter struct {
	min   int       // fewest literal bytes of any pattern
	any   bool      // some pattern starts with a star: any first byte
	first [4]uint64 // first bytes of the patterns that start with a literal
}

// NewFilter makes the filter of every pattern in sets.
func NewFilter(sets ...Set) Filter {
	f := Filter{min: -1}
	for _, s := range sets {
		for _, p := range s {
			n := 0
			for _, part := range p.parts {
				n += len(part)
			}
			if f.min < 0 || n < f.min {
				f.min = n
			}
			if lead := p.parts[0]; lead == "" {
				f.any = true
			} else {
				f.first[lead[0]>>6] |= 1 << (lead[0] & 63)
			}
		}
	}
	if f.min < 0 { // no pattern: nothing matches
		f.min = int(^uint(0) >> 1)
	}
	return f
}

// May reports whether some pattern could match name; false is certain.
func (f *Filter) May(name string) bool {
	if len(name) < f.min {
		return false
	}
	if len(name) == 0 || f.any {
		return true
	}
	return f.first[name[0]>>6]&(1<<(name[0]&63)) != 0
}
