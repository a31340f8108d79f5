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
	key     string
	attrs   [][2]string
	series  [numMetrics]map[string]*series
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
	// Counters for telemetry, drained by the connector.
	overflowed uint64
	truncated  uint64
}

func newStore(cfg *Config) *store {
	return &store{
		keys:      cfg.ResourceKeys,
		names:     labelNames[cfg.Labels],
		sets:      newLabelSets(cfg.Labels),
		max:       cfg.MaxSeries,
		maxLen:    cfg.MaxLabelLength,
		resources: map[string]*resourceState{},
	}
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

// get finds or creates the series of metric m for e.
func (s *store) get(st *resourceState, m metricID, e *eval, now pcommon.Timestamp) *series {
	set := s.sets[m][e.typ]
	buf := append(s.keyBuf[:0], byte(e.typ))
	truncated := false
	for _, l := range set {
		var cut bool
		buf, cut = e.appendValue(buf, l, s.maxLen)
		truncated = truncated || cut
		buf = append(buf, 0xff) // never in UTF-8
	}
	s.keyBuf = buf
	if truncated {
		s.truncated++
	}
	if se, ok := st.series[m][string(buf)]; ok {
		return se
	}
	if s.n[m] >= s.max {
		if s.overflow[m] == nil {
			s.overflow[m] = &series{start: now, labels: []label{{overflowLabel, "true"}}}
		}
		s.overflowed++
		return s.overflow[m]
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

// add counts one evaluation in every metric it belongs to.
func (s *store) add(st *resourceState, e *eval, now pcommon.Timestamp) {
	st = s.live(st)
	touch := func(se *series) {
		se.lastSeen = now
	}
	r := s.get(st, mRequests, e, now)
	r.value += e.weight
	touch(r)
	if e.err {
		se := s.get(st, mErrors, e, now)
		se.value += e.weight
		touch(se)
		return
	}
	res := s.get(st, mResults, e, now)
	res.value += e.weight
	touch(res)
	if e.side == sideServer {
		lat := s.get(st, mLatency, e, now)
		lat.observe(e.weight, e.latencyMs)
		touch(lat)
	}
}

// expire drops series idle since before cutoff and instances left empty.
func (s *store) expire(cutoff pcommon.Timestamp) {
	for k, st := range s.resources {
		empty := true
		for m := range numMetrics {
			for sk, se := range st.series[m] {
				if se.lastSeen < cutoff {
					delete(st.series[m], sk)
					s.n[m]--
				}
			}
			empty = empty && len(st.series[m]) == 0
		}
		if empty {
			st.removed = true
			delete(s.resources, k)
		}
	}
	for m := range numMetrics {
		if o := s.overflow[m]; o != nil && o.lastSeen < cutoff {
			s.overflow[m] = nil
		}
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
