// Package glob matches span names against patterns where '*' stands for any
// run of characters. Patterns are split once so matching never allocates.
package glob // import "github.com/otelcol-flipt/otelcol-flipt/processor/cachemetrics/internal/glob"

import "strings"

// Pattern is a compiled pattern.
type Pattern struct {
	parts []string // literal pieces between the stars
	star  bool     // false: parts[0] must equal the whole name
}

// Compile splits a pattern at its stars.
func Compile(p string) Pattern {
	return Pattern{parts: strings.Split(p, "*"), star: strings.Contains(p, "*")}
}

// Match reports whether name matches the pattern.
func (p Pattern) Match(name string) bool {
	if !p.star {
		return name == p.parts[0]
	}
	first, last := p.parts[0], p.parts[len(p.parts)-1]
	if !strings.HasPrefix(name, first) {
		return false
	}
	name = name[len(first):]
	if len(name) < len(last) || !strings.HasSuffix(name, last) {
		return false
	}
	name = name[:len(name)-len(last)]
	// Middle pieces: leftmost match of each is always safe for '*' globs.
	for _, mid := range p.parts[1 : len(p.parts)-1] {
		i := strings.Index(name, mid)
		if i < 0 {
			return false
		}
		name = name[i+len(mid):]
	}
	return true
}

// Set matches when any of its patterns does.
type Set []Pattern

// CompileAll compiles every pattern.
func CompileAll(ps []string) Set {
	s := make(Set, len(ps))
	for i, p := range ps {
		s[i] = Compile(p)
	}
	return s
}

// Match reports whether any pattern matches.
func (s Set) Match(name string) bool {
	for _, p := range s {
		if p.Match(name) {
			return true
		}
	}
	return false
}
