package glob

// Filter rules out, by length, first byte and first 16 bytes alone, names
// that no pattern of some sets can match: most span names are not lookups,
// and most of those differ from every pattern in their first bytes or are
// too short.
type Filter struct {
	min   int       // fewest literal bytes of any pattern
	any   bool      // some pattern starts with a star: any first byte
	first [4]uint64 // first bytes of the patterns that start with a literal
	// heads: each pattern's leading literal, its first 16 bytes at most, as
	// two masked words. A name of 16 bytes or more must begin with one: a
	// name that shares only a first byte with the patterns (most, since
	// span names share a service's prefix) is ruled out with two loads a
	// pattern, not a string compare.
	heads []head
}

type head struct{ w0, w1, m0, m1 uint64 }

// headLen is how much of a pattern's leading literal heads compare.
const headLen = 16

// load64 reads s[0:8] little-endian; the compiler makes it one load.
func load64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// headOf is lead's first bytes, up to headLen, as masked words.
func headOf(lead string) head {
	var b [headLen]byte
	n := copy(b[:], lead)
	var m [headLen]byte
	for i := range n {
		m[i] = 0xff
	}
	s, ms := string(b[:]), string(m[:])
	return head{w0: load64(s), w1: load64(s[8:]), m0: load64(ms), m1: load64(ms[8:])}
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
				f.heads = append(f.heads, headOf(lead))
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
	if f.first[name[0]>>6]&(1<<(name[0]&63)) == 0 {
		return false
	}
	if len(name) < headLen {
		return true
	}
	a, b := load64(name), load64(name[8:])
	for _, h := range f.heads {
		if a&h.m0 == h.w0 && b&h.m1 == h.w1 {
			return true
		}
	}
	return false
}
