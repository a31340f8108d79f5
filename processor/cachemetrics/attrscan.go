package cachemetrics // import "github.com/otelcol-flipt/otelcol-flipt/processor/cachemetrics"

import "go.opentelemetry.io/collector/pdata/pcommon"

// maxScanKeys bounds the keys looked for in one pass (a bit each in a mask).
const maxScanKeys = 64

// attrIndex finds a fixed set of keys in one pass over an attribute map,
// instead of one pass per key. Most attribute names are ruled out by their
// length alone, and the rest by their first and last byte before a string
// compare, so the common "not a lookup, not a backend" attribute costs no
// call.
type attrIndex struct {
	keys  []string
	byLen [][]scanKey // key length → the keys of that length
}

// scanKey is one key looked for, with its bytes at both ends to rule out
// other names of its length cheaply.
type scanKey struct {
	first, last byte
	i           uint8 // index into keys (its bit in the mask)
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
		x.byLen[len(k)] = append(x.byLen[len(k)], scanKey{first: k[0], last: k[len(k)-1], i: uint8(i)})
	}
	return x
}

// scan stores the value of each key present in vals (len(keys) long) and
// returns the mask of the keys present.
func (x *attrIndex) scan(attrs pcommon.Map, vals []pcommon.Value) uint64 {
	var mask uint64
	for k, v := range attrs.All() {
		if len(k) >= len(x.byLen) {
			continue
		}
		for _, c := range x.byLen[len(k)] {
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

// scanKeys lays out the keys of one scan: hit, then error, then backend keys.
type scanKeys struct {
	hit, err, backend int // first index of each group
	all               []string
}

func newScanKeys(cfg *Config) scanKeys {
	var s scanKeys
	if cfg.AttributeRules.Enabled {
		s.all = append(s.all, cfg.AttributeRules.HitAttributes...)
		s.err = len(s.all)
		s.all = append(s.all, cfg.AttributeRules.ErrorAttributes...)
	} else {
		s.err = len(s.all)
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

// scanKeyCount is what Validate checks against maxScanKeys.
func (c *Config) scanKeyCount() int { return len(newScanKeys(c).all) }
