package cachemetrics // import "github.com/otelcol-flipt/otelcol-flipt/processor/cachemetrics"

import "go.opentelemetry.io/collector/pdata/pcommon"

// maxScanKeys bounds the keys looked for in one pass (a bit each in a mask).
const maxScanKeys = 64

// attrIndex finds a fixed set of keys in one pass over an attribute map,
// instead of one pass per key. Most attribute names are ruled out by their
// length alone (one bit test). A name of 8 to 16 bytes (most keys are) is
// compared whole as its first and last 8 bytes, two words that cover it:
// no call, where a string compare calls memequal and spills the loop's
// registers around it; the first key of each such length sits in an array
// of its own (words), so the usual one key of a length costs no slice walk.
// Other names are ruled out by their first and last byte before a string
// compare.
type attrIndex struct {
	keys  []string
	byLen [][]scanKey // key length → the keys of that length
	lens  uint64      // bit n%64 set: a key is n bytes long
	words [maxWordKey - minWordKey + 1]wordKey
}

// wordKey is the first key of a length from 8 to 16, compared as two words.
type wordKey struct {
	head, tail uint64
	bit        uint64 // its bit in the mask; 0: no key of this length
	i          uint8
	more       bool // byLen holds more keys of this length after it
}

// scanKey is one key looked for, with its bytes at both ends to rule out
// other names of its length cheaply.
type scanKey struct {
	head, tail  uint64 // first and last 8 bytes, for a key of 8 to 16
	first, last byte
	i           uint8 // index into keys (its bit in the mask)
}

// Keys this long are compared as two words.
const minWordKey, maxWordKey = 8, 16

// load64 reads s[0:8] little-endian; the compiler makes it one load.
func load64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

func newAttrIndex(keys []string) *attrIndex {
	x := &attrIndex{keys: keys}
	for i, k := range keys {
		if k == "" {
			continue // Validate refuses it; a rule that cannot match
		}
		for len(x.byLen) <= len(k) {
			x.byLen = append(x.byLen, nil)
		}
		sk := scanKey{first: k[0], last: k[len(k)-1], i: uint8(i)}
		if len(k) >= minWordKey && len(k) <= maxWordKey {
			sk.head, sk.tail = load64(k), load64(k[len(k)-8:])
			if w := &x.words[len(k)-minWordKey]; w.bit == 0 {
				*w = wordKey{head: sk.head, tail: sk.tail, bit: 1 << i, i: uint8(i)}
			} else {
				w.more = true
			}
		}
		x.byLen[len(k)] = append(x.byLen[len(k)], sk)
		x.lens |= 1 << (len(k) & 63)
	}
	return x
}

// scan stores the value of each key present in vals (len(keys) long) and
// returns the mask of the keys present.
func (x *attrIndex) scan(attrs pcommon.Map, vals []pcommon.Value) uint64 {
	var mask uint64
	for k, v := range attrs.All() {
		n := len(k)
		if x.lens>>(uint(n)&63)&1 == 0 {
			continue // one test for most names: no key has their length
		}
		if uint(n-minWordKey) <= maxWordKey-minWordKey {
			head, tail := load64(k), load64(k[n-8:])
			w := &x.words[n-minWordKey]
			if head == w.head && tail == w.tail && mask&w.bit == 0 {
				mask |= w.bit
				vals[w.i] = v
			}
			if !w.more {
				continue
			}
			for _, c := range x.byLen[n][1:] {
				if bit := uint64(1) << c.i; head == c.head && tail == c.tail && mask&bit == 0 {
					mask |= bit
					vals[c.i] = v
				}
			}
			continue
		}
		if n >= len(x.byLen) {
			continue // 64 bytes or more: lens holds lengths modulo 64
		}
		for _, c := range x.byLen[n] {
			if k[0] != c.first || k[len(k)-1] != c.last {
				continue
			}
			if bit := uint64(1) << c.i; mask&bit == 0 && x.keys[c.i] == k {
				mask |= bit
				vals[c.i] = v
			}
		}
	}
	return mask
}

// scanKeys lays out the keys of one scan: hit, then backend keys. Error
// keys are not scanned for: they matter only on a lookup, which is rare, so
// attrRules reads them there (Get) rather than have every attribute of
// every span compared with them.
type scanKeys struct {
	hit, backend int // first index of each group
	all          []string
}

func newScanKeys(cfg *Config) scanKeys {
	var s scanKeys
	if cfg.AttributeRules.Enabled {
		s.all = append(s.all, cfg.AttributeRules.HitAttributes...)
	}
	s.backend = len(s.all)
	if len(cfg.inferenceRules()) > 0 {
		for _, c := range cfg.Inference.Backend.AnyOf {
			s.all = append(s.all, c.Key)
		}
	}
	return s
}

// group is the mask of the keys from index lo up to hi.
func group(lo, hi int) uint64 {
	return (uint64(1)<<hi - 1) &^ (uint64(1)<<lo - 1)
}

// scanKeyCount is what Validate checks against maxScanKeys: error keys
// count too, though read apart, so the bound does not move with how they
// are read.
func (c *Config) scanKeyCount() int {
	n := len(newScanKeys(c).all)
	if c.AttributeRules.Enabled {
		n += len(c.AttributeRules.ErrorAttributes)
	}
	return n
}
