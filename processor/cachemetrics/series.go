package cachemetrics // import "github.com/otelcol-flipt/otelcol-flipt/processor/cachemetrics"

import (
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// seriesKey is the label set of a series inside one source instance.
type seriesKey struct{ cache, typ string }

// series holds the cumulative counters of one label set.
type series struct {
	counts   [numOutcomes]uint64
	start    pcommon.Timestamp // fixed for the life of the series
	lastSeen pcommon.Timestamp // last lookup counted
	// exported is false until the series has been emitted once at zero, so
	// Prometheus sees the counter start from 0 and increase() is exact.
	exported bool
}

// resourceState is one source instance: its identity and its series.
type resourceState struct {
	key     string
	attrs   [][2]string // output resource attributes, in resource_keys order
	series  map[seriesKey]*series
	removed bool // dropped by expiry; a holder must look it up again
}

// store aggregates lookups; the connector's lock guards it.
type store struct {
	keys      []string
	max       int
	n         int // series in all resources, overflow excluded
	resources map[string]*resourceState
	overflow  *series
	keyBuf    []byte
	// overflowed counts lookups sent to the overflow series (telemetry).
	overflowed uint64
	// maxLabel cuts longer label values (0: no limit); truncated counts the
	// cuts since the last telemetry record.
	maxLabel  int
	truncated uint64
	gen       uint64 // expiries run: what a seriesCache was filled under
}

func newStore(keys []string, max, maxLabel int) *store {
	return &store{keys: keys, max: max, maxLabel: maxLabel, resources: map[string]*resourceState{}}
}

// resource finds or creates the state of the instance that sent attrs.
// Lookup by a reused byte buffer does not allocate.
func (s *store) resource(attrs pcommon.Map) *resourceState {
	buf := s.keyBuf[:0]
	for _, k := range s.keys {
		if v, ok := attrs.Get(k); ok {
			buf = append(buf, 1)
			var cut bool
			if v.Type() == pcommon.ValueTypeStr {
				buf, cut = appendLabel(buf, v.Str(), s.maxLabel)
			} else {
				buf, cut = appendLabel(buf, v.AsString(), s.maxLabel)
			}
			if cut {
				s.truncated++
			}
		}
		buf = append(buf, 0)
	}
	s.keyBuf = buf
	if st, ok := s.resources[string(buf)]; ok {
		return st
	}
	st := &resourceState{key: string(buf), series: map[seriesKey]*series{}}
	for _, k := range s.keys {
		if v, ok := attrs.Get(k); ok {
			val, _ := cutLabel(v.AsString(), s.maxLabel) // counted above
			st.attrs = append(st.attrs, [2]string{k, val})
		}
	}
	s.resources[st.key] = st
	return st
}

// live returns st, or its successor if expiry dropped it meanwhile.
func (s *store) live(st *resourceState) *resourceState {
	if !st.removed {
		return st
	}
	if cur, ok := s.resources[st.key]; ok {
		return cur
	}
	fresh := &resourceState{key: st.key, attrs: st.attrs, series: map[seriesKey]*series{}}
	s.resources[st.key] = fresh
	return fresh
}

// add counts one lookup. A new label set beyond max goes to the overflow.
// Long label values are cut first, so values that agree up to the cut
// share one series and the output never holds a label set twice.
func (s *store) add(st *resourceState, cache, typ string, o outcome, now pcommon.Timestamp) {
	s.addTo(st, cache, typ, o, now)
}

// addTo is add, and returns the series counted when a later lookup with the
// same labels may count into it directly (see seriesCache): neither label
// was cut, and it is not the overflow series.
func (s *store) addTo(st *resourceState, cache, typ string, o outcome, now pcommon.Timestamp) *series {
	st = s.live(st)
	cache, cutCache := cutLabel(cache, s.maxLabel)
	typ, cutType := cutLabel(typ, s.maxLabel)
	if cutCache {
		s.truncated++
	}
	if cutType {
		s.truncated++
	}
	se := st.series[seriesKey{cache, typ}]
	if se == nil {
		if s.n >= s.max {
			if s.overflow == nil {
				s.overflow = &series{start: now}
			}
			se = s.overflow
			s.overflowed++
		} else {
			// Clone: the strings may point into the caller's pdata.
			se = &series{start: now}
			st.series[seriesKey{strings.Clone(cache), strings.Clone(typ)}] = se
			s.n++
		}
	}
	se.counts[o]++
	se.lastSeen = now
	if cutCache || cutType || se == s.overflow {
		return nil
	}
	return se
}

// seriesCache remembers the series one inference rule counted into last,
// for one instance: the rule's labels are fixed, so the next lookup of that
// instance counts there without hashing them again. It holds while no
// expiry has run since (gen), as only expiry drops series.
type seriesCache struct {
	st  *resourceState
	se  *series
	gen uint64
}

// addCached is add for the fixed labels of one rule; c is the rule's cache.
func (s *store) addCached(c *seriesCache, st *resourceState, cache, typ string, o outcome, now pcommon.Timestamp) {
	if c.se != nil && c.st == st && c.gen == s.gen {
		c.se.counts[o]++
		c.se.lastSeen = now
		return
	}
	*c = seriesCache{st: st, se: s.addTo(st, cache, typ, o, now), gen: s.gen}
}

// expire drops series idle since before cutoff and instances left empty.
func (s *store) expire(cutoff pcommon.Timestamp) {
	s.gen++ // every seriesCache is stale
	for k, st := range s.resources {
		for sk, se := range st.series {
			if se.lastSeen < cutoff {
				delete(st.series, sk)
				s.n--
			}
		}
		if len(st.series) == 0 {
			st.removed = true
			delete(s.resources, k)
		}
	}
	if s.overflow != nil && s.overflow.lastSeen < cutoff {
		s.overflow = nil
	}
}

// resRef resolves the instance of a ResourceSpans only when a lookup needs
// it, so resources without lookups cost no state.
type resRef struct {
	s     *store
	attrs pcommon.Map
	st    *resourceState
}

func (r *resRef) get() *resourceState {
	if r.st == nil {
		r.st = r.s.resource(r.attrs)
	}
	return r.st
}
