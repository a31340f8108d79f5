package cachemetrics // import "github.com/otelcol-flipt/otelcol-flipt/processor/cachemetrics"

import (
	"cmp"
	"slices"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/otelcol-flipt/otelcol-flipt/processor/cachemetrics/internal/metadata"
)

const (
	labelCache    = "cache"
	labelType     = "type"
	overflowLabel = "otel.metric.overflow"
	// A unit in braces: prometheusexporter adds no unit suffix, only _total.
	lookupUnit = "{lookup}"
)

// Descriptions equal Flipt's own, so when Flipt pushes flipt_cache_* too
// the exporter sees one consistent HELP text per metric family.
var descriptions = [numOutcomes]string{
	"The number of cache hits",
	"The number of cache misses",
	"The number of cache errors",
}

// build renders every live series as cumulative sums, instances sorted so
// the output is stable. A series not exported yet is emitted at zero once.
func (s *store) build(names [numOutcomes]string, now pcommon.Timestamp) pmetric.Metrics {
	md := pmetric.NewMetrics()
	states := make([]*resourceState, 0, len(s.resources))
	for _, st := range s.resources {
		states = append(states, st)
	}
	slices.SortFunc(states, func(a, b *resourceState) int { return cmp.Compare(a.key, b.key) })
	for _, st := range states {
		if len(st.series) == 0 {
			continue
		}
		rm := md.ResourceMetrics().AppendEmpty()
		for _, kv := range st.attrs {
			rm.Resource().Attributes().PutStr(kv[0], kv[1])
		}
		sums := newSums(rm, names)
		keys := make([]seriesKey, 0, len(st.series))
		for k := range st.series {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b seriesKey) int {
			return cmp.Or(cmp.Compare(a.cache, b.cache), cmp.Compare(a.typ, b.typ))
		})
		for _, k := range keys {
			addPoints(sums, st.series[k], now, func(m pcommon.Map) {
				m.PutStr(labelCache, k.cache)
				m.PutStr(labelType, k.typ)
			})
		}
	}
	if s.overflow != nil {
		// One overflow series, in a resource of its own: it mixes instances.
		sums := newSums(md.ResourceMetrics().AppendEmpty(), names)
		addPoints(sums, s.overflow, now, func(m pcommon.Map) { m.PutStr(overflowLabel, "true") })
	}
	return md
}

func newSums(rm pmetric.ResourceMetrics, names [numOutcomes]string) [numOutcomes]pmetric.Sum {
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName(metadata.ScopeName)
	var sums [numOutcomes]pmetric.Sum
	for o := range numOutcomes {
		m := sm.Metrics().AppendEmpty()
		m.SetName(names[o])
		m.SetDescription(descriptions[o])
		m.SetUnit(lookupUnit)
		sums[o] = m.SetEmptySum()
		sums[o].SetIsMonotonic(true)
		sums[o].SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	}
	return sums
}

func addPoints(sums [numOutcomes]pmetric.Sum, se *series, now pcommon.Timestamp, labels func(pcommon.Map)) {
	for o := range numOutcomes {
		dp := sums[o].DataPoints().AppendEmpty()
		labels(dp.Attributes())
		dp.SetStartTimestamp(se.start)
		dp.SetTimestamp(now)
		if se.exported {
			dp.SetIntValue(int64(se.counts[o]))
		}
	}
	se.exported = true
}
