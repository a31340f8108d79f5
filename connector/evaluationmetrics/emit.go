package evaluationmetrics // import "github.com/otelcol-flipt/otelcol-flipt/connector/evaluationmetrics"

import (
	"cmp"
	"math"
	"slices"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/otelcol-flipt/otelcol-flipt/connector/evaluationmetrics/internal/metadata"
)

const overflowLabel = "otel.metric.overflow"

// Names, units and descriptions are Flipt's own (v1 and v2 alike), so the
// Prometheus exporter renders flipt_evaluations_requests_total and
// flipt_evaluations_latency_milliseconds, and when Flipt pushes its own
// metrics here too each family has one HELP text.
var metricDefs = [numMetrics]struct{ name, unit, desc string }{
	mRequests: {"flipt_evaluations_requests", "", "The total number of requested evaluations"},
	mResults:  {"flipt_evaluations_results", "", "Count of results including match, flag, segment, reason and value attributes"},
	mErrors:   {"flipt_evaluations_errors", "", "The total number of requested evaluations"},
	mLatency:  {"flipt_evaluations_latency", "ms", "The latency of inidividual evaluations in milliseconds"},
}

// build renders every live series, instances and series sorted so the
// output is stable. A series not exported yet is emitted at 0 once.
func (s *store) build(now pcommon.Timestamp) pmetric.Metrics {
	md := pmetric.NewMetrics()
	states := make([]*resourceState, 0, len(s.resources))
	for _, st := range s.resources {
		states = append(states, st)
	}
	slices.SortFunc(states, func(a, b *resourceState) int { return cmp.Compare(a.key, b.key) })
	for _, st := range states {
		rm := md.ResourceMetrics().AppendEmpty()
		for _, kv := range st.attrs {
			rm.Resource().Attributes().PutStr(kv[0], kv[1])
		}
		sm := rm.ScopeMetrics().AppendEmpty()
		sm.Scope().SetName(metadata.ScopeName)
		for m := range numMetrics {
			if len(st.series[m]) == 0 {
				continue
			}
			keys := make([]string, 0, len(st.series[m]))
			for k := range st.series[m] {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			out := newMetric(sm, m)
			for _, k := range keys {
				addPoint(out, m, st.series[m][k], now)
			}
		}
	}
	var sm pmetric.ScopeMetrics
	for m := range numMetrics {
		if s.overflow[m] == nil {
			continue
		}
		if sm == (pmetric.ScopeMetrics{}) {
			// One resource for the overflow series: they mix instances.
			sm = md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty()
			sm.Scope().SetName(metadata.ScopeName)
		}
		addPoint(newMetric(sm, m), m, s.overflow[m], now)
	}
	return md
}

func newMetric(sm pmetric.ScopeMetrics, m metricID) pmetric.Metric {
	out := sm.Metrics().AppendEmpty()
	d := metricDefs[m]
	out.SetName(d.name)
	out.SetUnit(d.unit)
	out.SetDescription(d.desc)
	if m == mLatency {
		out.SetEmptyHistogram().SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	} else {
		sum := out.SetEmptySum()
		sum.SetIsMonotonic(true)
		sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	}
	return out
}

func addPoint(out pmetric.Metric, m metricID, se *series, now pcommon.Timestamp) {
	first := !se.exported
	se.exported = true
	if m == mLatency {
		dp := out.Histogram().DataPoints().AppendEmpty()
		putLabels(dp.Attributes(), se.labels)
		dp.SetStartTimestamp(se.start)
		dp.SetTimestamp(now)
		dp.ExplicitBounds().FromRaw(latencyBounds)
		counts := dp.BucketCounts()
		counts.EnsureCapacity(numBuckets)
		var total uint64
		for _, b := range se.buckets {
			c := uint64(0)
			if !first {
				c = uint64(math.Round(b))
			}
			counts.Append(c)
			total += c
		}
		dp.SetCount(total)
		if !first {
			dp.SetSum(se.sum)
		} else {
			dp.SetSum(0)
		}
		return
	}
	dp := out.Sum().DataPoints().AppendEmpty()
	putLabels(dp.Attributes(), se.labels)
	dp.SetStartTimestamp(se.start)
	dp.SetTimestamp(now)
	switch {
	case first:
		dp.SetIntValue(0)
	case se.value == math.Trunc(se.value) && se.value < 1<<53:
		dp.SetIntValue(int64(se.value))
	default:
		dp.SetDoubleValue(se.value)
	}
}

func putLabels(m pcommon.Map, labels []label) {
	m.EnsureCapacity(len(labels))
	for _, l := range labels {
		m.PutStr(l.k, l.v)
	}
}
