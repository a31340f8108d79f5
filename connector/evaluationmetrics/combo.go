package evaluationmetrics // import "github.com/otelcol-flipt/otelcol-flipt/connector/evaluationmetrics"

import (
	"encoding/binary"
	"strings"
	"unsafe"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// combo is the series one kind of evaluation adds to, found by the fields
// of the evaluation that any label reads (a combo may be finer than the
// series it points to, never coarser).
type combo struct {
	requests, other, latency *series // other: results, or errors
	overflow                 bool    // one of them is an overflow series

	kind     uint8 // type, side and error
	fields   [numComboFields]fieldSig
	segments []fieldSig
}

// The string fields of an evaluation a combo is keyed by.
const (
	cfNamespace = iota
	cfFlag
	cfEnvironment
	cfMatch
	cfReason
	cfValue
	numComboFields
)

func (e *eval) comboFields() [numComboFields]string {
	return [...]string{e.namespace, e.flag, e.environment, e.match, e.reason, e.value}
}

// fieldSig is a string with its signature: the length and two words that
// together hold every byte of a string of up to 16 bytes (the first and
// last eight, four, or the first, middle and last byte). Equal signatures
// are equal strings up to 16 bytes; longer ones are compared in full. Label
// values are short, so a lookup hashes and compares a few words per field
// instead of building a key of the bytes.
type fieldSig struct {
	s    string
	a, b uint64
}

func sigOf(s string) (a, b uint64) {
	p := unsafe.Slice(unsafe.StringData(s), len(s))
	switch n := len(p); {
	case n >= 8:
		return binary.LittleEndian.Uint64(p), binary.LittleEndian.Uint64(p[n-8:])
	case n >= 4:
		return uint64(binary.LittleEndian.Uint32(p)), uint64(binary.LittleEndian.Uint32(p[n-4:]))
	case n > 0:
		return uint64(p[0]) | uint64(p[n/2])<<8 | uint64(p[n-1])<<16, 0
	}
	return 0, 0
}

// equal reports whether s is the string of f; a and b are sigOf(s).
func (f *fieldSig) equal(s string, a, b uint64) bool {
	return len(s) == len(f.s) && a == f.a && b == f.b &&
		(len(s) <= 16 || unsafe.StringData(s) == unsafe.StringData(f.s) || s == f.s)
}

func newFieldSig(s string) fieldSig {
	a, b := sigOf(s)
	return fieldSig{s: s, a: a, b: b}
}

// comboKind packs the fields of e that are not strings, and its match,
// which is one of three words (matchCode).
func comboKind(e *eval) uint8 {
	k := uint8(e.typ) | uint8(e.side)<<2 | matchCode(e.match)<<5
	if e.err {
		k |= 1 << 4
	}
	return k
}

// matchCode tells the match words apart: 0 for "", 1 for "true", 2 for
// "false", 3 for anything else (an evaluation that is not cached).
func matchCode(m string) uint8 {
	switch {
	case m == "":
		return 0
	case m == "true":
		return 1
	case m == "false":
		return 2
	}
	return 3
}

// segmentCount is the number of segment keys e carries: its segment list,
// else its single segment if any. A single segment and a list of that one
// key render alike in every label, so they share a combo.
func (e *eval) segmentCount() int {
	if e.hasSegs {
		return e.segs.Len()
	}
	if e.segment != "" {
		return 1
	}
	return 0
}

// segmentAt is segment key i; ok is false for a list element that is not
// a string (such evaluations take the slow path).
func (e *eval) segmentAt(i int) (s string, ok bool) {
	if !e.hasSegs {
		return e.segment, true
	}
	v := e.segs.At(i)
	if s := v.Str(); s != "" { // only a string has a non-empty Str
		return s, true
	}
	return "", v.Type() == pcommon.ValueTypeStr
}

// probe is an evaluation's combo key: the signatures of its fields and
// their hash, computed once per lookup, and the lengths and signatures of
// its first segment keys, so that comparing them reads no pdata (only a key
// over 16 bytes is read again). It holds no string: nothing of the
// caller's pdata is kept.
type probe struct {
	h      uint64
	kind   uint8
	a, b   [numComboFields]uint64
	nsegs  int
	sn     [probeSegs]int
	sa, sb [probeSegs]uint64
}

// probeSegs is how many segment keys a probe holds; Flipt's evaluations
// match a few segments at most, and any further ones are read again.
const probeSegs = 4

// makeProbe reads the fields a combo is keyed by in place. ok is false for
// a segment that is not a string: such evaluations take the slow path and
// are not cached. Lengths are checked only before caching (fitsLabels):
// a cached combo fits, so an evaluation that finds one fits too.
func makeProbe(e *eval, p *probe) (ok bool) {
	p.kind = comboKind(e)
	if p.kind>>5 == 3 {
		return false
	}
	h := uint64(p.kind) + 1
	// Written out so that sigOf is inlined five times; match is in kind.
	p.a[cfNamespace], p.b[cfNamespace] = sigOf(e.namespace)
	h = mix(h, p.a[cfNamespace], p.b[cfNamespace], len(e.namespace))
	p.a[cfFlag], p.b[cfFlag] = sigOf(e.flag)
	h = mix(h, p.a[cfFlag], p.b[cfFlag], len(e.flag))
	p.a[cfEnvironment], p.b[cfEnvironment] = sigOf(e.environment)
	h = mix(h, p.a[cfEnvironment], p.b[cfEnvironment], len(e.environment))
	p.a[cfReason], p.b[cfReason] = sigOf(e.reason)
	h = mix(h, p.a[cfReason], p.b[cfReason], len(e.reason))
	p.a[cfValue], p.b[cfValue] = sigOf(e.value)
	h = mix(h, p.a[cfValue], p.b[cfValue], len(e.value))
	p.nsegs = e.segmentCount()
	for i := range p.nsegs {
		s, ok := e.segmentAt(i)
		if !ok {
			return false
		}
		a, b := sigOf(s)
		if i < probeSegs {
			p.sn[i], p.sa[i], p.sb[i] = len(s), a, b
		}
		h = mix(h, a, b, len(s))
	}
	h *= 0xbf58476d1ce4e5b9
	p.h = h ^ h>>32 // the table indexes by the low bits
	return true
}

// fitsLabels reports whether every field of e fits max_label_length. A
// combo copies its fields, so only evaluations that fit are cached, and
// the memory combos hold stays bounded.
func fitsLabels(e *eval, maxLen int) bool {
	if max(len(e.namespace), len(e.flag), len(e.environment), len(e.match), len(e.reason), len(e.value)) > maxLen {
		return false
	}
	for i := range e.segmentCount() {
		if s, _ := e.segmentAt(i); len(s) > maxLen {
			return false
		}
	}
	return true
}

// mix folds one field into h with one multiplication: its second word and
// length are multiplied in by the next field's call, the last ones by the
// finish in makeProbe. The hash only spreads combos over the table; a
// lookup compares the fields, so a weaker hash costs probes, never a wrong
// combo.
func mix(h, a, b uint64, n int) uint64 {
	return (h^a)*0x9e3779b97f4a7c15 ^ b ^ uint64(n)
}

// matches reports whether e, whose probe is p, has the fields co was made
// from.
func (co *combo) matches(p *probe, e *eval) bool {
	f := &co.fields
	if co.kind != p.kind || !f[cfFlag].equal(e.flag, p.a[cfFlag], p.b[cfFlag]) ||
		!f[cfValue].equal(e.value, p.a[cfValue], p.b[cfValue]) ||
		!f[cfNamespace].equal(e.namespace, p.a[cfNamespace], p.b[cfNamespace]) ||
		!f[cfEnvironment].equal(e.environment, p.a[cfEnvironment], p.b[cfEnvironment]) ||
		!f[cfReason].equal(e.reason, p.a[cfReason], p.b[cfReason]) ||
		p.nsegs != len(co.segments) {
		return false
	}
	for i := range co.segments {
		var ok bool
		if i < probeSegs && p.sn[i] <= 16 {
			f := &co.segments[i]
			ok = p.sn[i] == len(f.s) && p.sa[i] == f.a && p.sb[i] == f.b
		} else {
			s, _ := e.segmentAt(i)
			a, b := sigOf(s)
			ok = co.segments[i].equal(s, a, b)
		}
		if !ok {
			return false
		}
	}
	return true
}

// setKey copies the fields of e into co (out of the caller's pdata). A
// reason that is one of Flipt's enum names keeps pointing at the constant,
// so comparing it with the next evaluation's (the same constant) stops at
// the pointers.
func (co *combo) setKey(e *eval) {
	co.kind = comboKind(e)
	for i, f := range e.comboFields() {
		if i == cfReason {
			f = canonicalReason(f)
		} else {
			f = strings.Clone(f)
		}
		co.fields[i] = newFieldSig(f)
	}
	co.segments = make([]fieldSig, e.segmentCount())
	for i := range co.segments {
		s, _ := e.segmentAt(i)
		co.segments[i] = newFieldSig(strings.Clone(s))
	}
}

// comboTable finds a combo by its fields: open addressing on the hash,
// linear probing, at most half full. Entries are only ever added, or all
// dropped at once, so no slot is ever deleted.
type comboTable struct {
	slots []comboSlot
	n     int
}

type comboSlot struct {
	h  uint64
	co *combo // nil: empty
}

func (t *comboTable) find(p *probe, e *eval) *combo {
	if t.n == 0 {
		return nil
	}
	mask := uint64(len(t.slots) - 1)
	for i := p.h & mask; ; i = (i + 1) & mask {
		sl := &t.slots[i]
		if sl.co == nil {
			return nil
		}
		if sl.h == p.h && sl.co.matches(p, e) {
			return sl.co
		}
	}
}

func (t *comboTable) insert(h uint64, co *combo) {
	if 2*(t.n+1) > len(t.slots) {
		old := t.slots
		t.slots = make([]comboSlot, max(16, 2*len(old)))
		for _, sl := range old {
			if sl.co != nil {
				t.put(sl)
			}
		}
	}
	t.put(comboSlot{h: h, co: co})
	t.n++
}

func (t *comboTable) put(sl comboSlot) {
	mask := uint64(len(t.slots) - 1)
	i := sl.h & mask
	for t.slots[i].co != nil {
		i = (i + 1) & mask
	}
	t.slots[i] = sl
}

func (t *comboTable) reset() {
	clear(t.slots)
	t.n = 0
}
