package evaluationmetrics // import "github.com/otelcol-flipt/otelcol-flipt/connector/evaluationmetrics"

import (
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// latencyBounds are the OpenTelemetry SDK's default bucket bounds, which
// Flipt's own flipt_evaluations_latency histogram uses.
var latencyBounds = []float64{0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000}

const numBuckets = 16 // len(latencyBounds) + 1

type label struct{ k, v string }

// series is one label set of one metric. Counts are float64 because a
// sampled evaluation counts 1/ratio.
type series struct {
	labels   []label
	value    float64
	buckets  [numBuckets]float64 // latency only
	sum      float64
	start    pcommon.Timestamp
	lastSeen pcommon.Timestamp
	// exported is false until the series was emitted once at 0, so
	// Prometheus sees it start from 0 and increase() is exact.
	exported bool
}

func (s *series) observe(weight, ms float64) {
	s.value += weight
	s.sum += weight * ms
	i := 0
	for i < len(latencyBounds) && ms > latencyBounds[i] {
		i++
	}
	s.buckets[i] += weight
}

// resourceState is one source instance: its identity and its series.
type resourceState struct {
	key    string
	attrs  [][2]string
	series [numMetrics]map[string]*series
	// combos finds every series of one evaluation outcome with a single
	// lookup, keyed by all its label values.
	combos  comboTable
	removed bool
}

func newResourceState(key string, attrs [][2]string) *resourceState {
	st := &resourceState{key: key, attrs: attrs}
	for m := range numMetrics {
		st.series[m] = map[string]*series{}
	}
	return st
}

// store aggregates evaluations; the connector's lock guards it.
type store struct {
	keys      []string
	names     [numLabels]string
	sets      labelSets
	max       int
	maxLen    int
	n         [numMetrics]int // series per metric, overflow excluded
	resources map[string]*resourceState
	overflow  [numMetrics]*series
	keyBuf    []byte
	valBuf    []byte
	probe     probe // reused by every lookup: not zeroed each time
	combos    int   // cached combos in all resources
	// Counters for telemetry, drained by the connector.
	overflowed uint64
	truncated  uint64
}

func newStore(cfg *Config) *store {
	s := &store{
		keys:      cfg.ResourceKeys,
		names:     labelNames[cfg.Labels],
		sets:      newLabelSets(cfg.Labels),
		max:       cfg.MaxSeries,
		maxLen:    cfg.MaxLabelLength,
		resources: map[string]*resourceState{},
	}
	return s
}

// resource finds or creates the instance that sent attrs; the lookup by a
// reused byte buffer does not allocate.
func (s *store) resource(attrs pcommon.Map) *resourceState {
	buf := s.keyBuf[:0]
	for _, k := range s.keys {
		if v, ok := attrs.Get(k); ok {
			buf = append(buf, 1)
			if v.Type() == pcommon.ValueTypeStr {
				buf = append(buf, v.Str()...)
			} else {
				buf = append(buf, v.AsString()...)
			}
		}
		buf = append(buf, 0)
	}
	s.keyBuf = buf
	if st, ok := s.resources[string(buf)]; ok {
		return st
	}
	var ra [][2]string
	for _, k := range s.keys {
		if v, ok := attrs.Get(k); ok {
			ra = append(ra, [2]string{k, v.AsString()})
		}
	}
	st := newResourceState(string(buf), ra)
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
	fresh := newResourceState(st.key, st.attrs)
	s.resources[st.key] = fresh
	return fresh
}

// key writes the label values of set for e into the key buffer.
func (s *store) key(prefix byte, set []labelID, e *eval) (key []byte, truncated bool) {
	buf := append(s.keyBuf[:0], prefix)
	for _, l := range set {
		var cut bool
		buf, cut = e.appendValue(buf, l, s.maxLen)
		truncated = truncated || cut
		buf = append(buf, 0xff) // never in UTF-8
	}
	s.keyBuf = buf
	return buf, truncated
}

// get finds or creates the series of metric m for e.
func (s *store) get(st *resourceState, m metricID, e *eval, now pcommon.Timestamp) *series {
	set := s.sets[m][e.typ]
	buf, truncated := s.key(byte(e.typ), set, e)
	if se, ok := st.series[m][string(buf)]; ok {
		return se
	}
	if s.n[m] >= s.max {
		if s.overflow[m] == nil {
			s.overflow[m] = &series{start: now, labels: []label{{overflowLabel, "true"}}}
		}
		return s.overflow[m]
	}
	if truncated {
		s.truncated++
	}
	se := &series{start: now, labels: s.labelsOf(set, e)}
	st.series[m][string(buf)] = se
	s.n[m]++
	return se
}

// labelsOf renders the labels of a new series; values are copied out of
// the caller's pdata.
func (s *store) labelsOf(set []labelID, e *eval) []label {
	out := make([]label, 0, len(set))
	for _, l := range set {
		s.valBuf, _ = e.appendValue(s.valBuf[:0], l, s.maxLen)
		if l == lEnvironment && len(s.valBuf) == 0 {
			continue // v1 servers have no environment
		}
		out = append(out, label{s.names[l], strings.Clone(string(s.valBuf))})
	}
	return out
}

// newCombo finds e's series one metric at a time, and caches them as a
// combo when e's probe is ok (in s.probe) and the bound allows.
func (s *store) newCombo(st *resourceState, e *eval, now pcommon.Timestamp, ok bool) *combo {
	p := &s.probe
	co := &combo{requests: s.get(st, mRequests, e, now)}
	if e.err {
		co.other = s.get(st, mErrors, e, now)
	} else {
		co.other = s.get(st, mResults, e, now)
		if e.side == sideServer {
			co.latency = s.get(st, mLatency, e, now)
		}
	}
	for _, se := range [...]*series{co.requests, co.other, co.latency} {
		for _, o := range s.overflow {
			co.overflow = co.overflow || (se != nil && se == o)
		}
	}
	if ok && s.combos < 2*int(numMetrics)*s.max && fitsLabels(e, s.maxLen) {
		co.setKey(e)
		st.combos.insert(p.h, co)
		s.combos++
	}
	return co
}

// add counts one evaluation in every metric it belongs to, and returns the
// combo it found them by. In steady state that is one lookup: combos are
// bounded like series, and beyond the bound every evaluation takes the
// slow path (one lookup per metric).
func (s *store) add(st *resourceState, e *eval, now pcommon.Timestamp) *combo {
	st = s.live(st)
	var co *combo
	p := &s.probe
	ok := makeProbe(e, p)
	if ok {
		co = st.combos.find(p, e)
	}
	if co == nil {
		co = s.newCombo(st, e, now, ok)
	}
	if co.overflow {
		s.overflowed++
	}
	co.requests.value += e.weight
	co.requests.lastSeen = now
	co.other.value += e.weight
	co.other.lastSeen = now
	if co.latency != nil {
		co.latency.observe(e.weight, e.latencyMs)
		co.latency.lastSeen = now
	}
	return co
}

// expire drops series idle since before cutoff and instances left empty.
// A combo may point at a dropped series, so any drop forgets every combo;
// in steady state nothing is dropped and nothing is rebuilt.
func (s *store) expire(cutoff pcommon.Timestamp) {
	dropped := false
	for k, st := range s.resources {
		empty := true
		for m := range numMetrics {
			for sk, se := range st.series[m] {
				if se.lastSeen < cutoff {
					delete(st.series[m], sk)
					s.n[m]--
					dropped = true
				}
			}
			empty = empty && len(st.series[m]) == 0
		}
		if empty {
			st.removed = true
			delete(s.resources, k)
			dropped = true
		}
	}
	for m := range numMetrics {
		if o := s.overflow[m]; o != nil && o.lastSeen < cutoff {
			s.overflow[m] = nil
			dropped = true
		}
	}
	if dropped {
		for _, st := range s.resources {
			st.combos.reset()
		}
		s.combos = 0
	}
}

// seriesCount is every exported series, overflow included.
func (s *store) seriesCount() int {
	n := 0
	for m := range numMetrics {
		n += s.n[m]
		if s.overflow[m] != nil {
			n++
		}
	}
	return n
}

// resRef resolves the instance of a resource only when an evaluation needs it.
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
