package cachemetrics // import "github.com/otelcol-flipt/otelcol-flipt/processor/cachemetrics"

import (
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// outcome indexes the three counters of a series.
type outcome uint8

const (
	hit outcome = iota
	miss
	lookupError
	numOutcomes
)

var outcomeNames = [numOutcomes]string{"hit", "miss", "error"}

// attrRules is the compiled form of AttributeRules. It reads pdata in place
// and the scan results of attrIndex: no allocation per span.
type attrRules struct {
	events      bool
	keys        scanKeys
	idx         *attrIndex
	errOnStatus bool
	cache, typ  LabelFrom
	hits        uint64 // mask of the hit keys: a span with none is no lookup
	errKeys     []string
}

func newAttrRules(cfg AttributeRules, keys scanKeys, idx *attrIndex) *attrRules {
	if !cfg.Enabled {
		return nil
	}
	return &attrRules{
		events:      cfg.SpanEvents,
		keys:        keys,
		idx:         idx,
		errOnStatus: cfg.ErrorOnStatus,
		cache:       cfg.Cache,
		typ:         cfg.Type,
		hits:        group(keys.hit, keys.backend),
		errKeys:     cfg.ErrorAttributes,
	}
}

// lookup is one recognised cache lookup.
type lookup struct {
	o          outcome
	cache, typ string
}

// may reports whether span can carry a lookup: a hit key on the span, or
// an event to read. Most spans have neither, and skip the call to span.
func (r *attrRules) may(s ptrace.Span, mask uint64) bool {
	return mask&r.hits != 0 || (r.events && s.Events().Len() > 0)
}

// span appends the lookups a span and its events carry, given the span's
// scan; it reports whether the span itself was a lookup. evVals is the
// caller's scratch for event scans, so calls may run in parallel.
func (r *attrRules) span(s ptrace.Span, mask uint64, vals, evVals []pcommon.Value, out []lookup) ([]lookup, bool) {
	self := false
	if o, ok := r.outcome(mask, vals, s.Attributes()); ok {
		if r.errOnStatus && s.Status().Code() == ptrace.StatusCodeError {
			o = lookupError
		}
		out = append(out, r.labelled(o, s.Attributes()))
		self = true
	}
	if r.events {
		evs := s.Events()
		for i := range evs.Len() {
			ea := evs.At(i).Attributes()
			if o, ok := r.outcome(r.idx.scan(ea, evVals), evVals, ea); ok {
				out = append(out, r.labelled(o, ea))
			}
		}
	}
	return out, self
}

func (r *attrRules) labelled(o outcome, attrs pcommon.Map) lookup {
	return lookup{o: o, cache: labelValue(attrs, r.cache), typ: labelValue(attrs, r.typ)}
}

// outcome reads the first hit attribute present; an unrecognised value
// means "not a lookup" rather than a guess.
func (r *attrRules) outcome(mask uint64, vals []pcommon.Value, attrs pcommon.Map) (outcome, bool) {
	if mask&r.hits == 0 {
		return 0, false
	}
	for i := r.keys.hit; i < r.keys.backend; i++ {
		if mask&(1<<i) == 0 {
			continue
		}
		o, ok := parseHit(vals[i])
		if !ok {
			return 0, false
		}
		if r.isError(attrs) {
			o = lookupError
		}
		return o, true
	}
	return 0, false
}

func parseHit(v pcommon.Value) (outcome, bool) {
	switch v.Type() {
	case pcommon.ValueTypeBool:
		if v.Bool() {
			return hit, true
		}
		return miss, true
	case pcommon.ValueTypeStr:
		switch s := v.Str(); {
		case strings.EqualFold(s, "hit"), strings.EqualFold(s, "true"):
			return hit, true
		case strings.EqualFold(s, "miss"), strings.EqualFold(s, "false"):
			return miss, true
		}
	}
	return 0, false
}

// isError reads the error keys of a lookup's attributes.
func (r *attrRules) isError(attrs pcommon.Map) bool {
	for _, k := range r.errKeys {
		v, ok := attrs.Get(k)
		if !ok {
			continue
		}
		switch v.Type() {
		case pcommon.ValueTypeBool:
			if v.Bool() {
				return true
			}
		case pcommon.ValueTypeStr:
			if s := v.Str(); s != "" && !strings.EqualFold(s, "false") {
				return true
			}
		case pcommon.ValueTypeEmpty:
		default:
			return true
		}
	}
	return false
}

// labelValue returns the first attribute present as a string. Strings are
// returned as stored; other types are formatted, which allocates but is rare.
func labelValue(attrs pcommon.Map, from LabelFrom) string {
	for _, k := range from.Attributes {
		if v, ok := attrs.Get(k); ok {
			if v.Type() == pcommon.ValueTypeStr {
				return v.Str()
			}
			return v.AsString()
		}
	}
	return from.Default
}
