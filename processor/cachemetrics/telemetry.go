package cachemetrics // import "github.com/otelcol-flipt/otelcol-flipt/processor/cachemetrics"

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/otelcol-flipt/otelcol-flipt/processor/cachemetrics/internal/metadata"
)

// ruleKind says which kind of rule recognised a lookup.
type ruleKind uint8

const (
	kindAttribute ruleKind = iota
	kindInference
	numKinds
)

var kindNames = [numKinds]string{"attribute", "inference"}

// stats accumulates under the connector lock and is recorded once per batch
// or flush, never per span or per lookup.
type stats struct {
	spans     int64
	lookups   [numKinds][numOutcomes]int64
	overflow  int64
	evictions int64
	truncated int64 // label values cut
	// duplicates are lookup spans not counted again; dedupEvictions are
	// identities forgotten before their window was over.
	duplicates     int64
	dedupEvictions int64
}

// telemetry records the connector's own metrics through set.MeterProvider.
type telemetry struct {
	tb *metadata.TelemetryBuilder
	// Option slices built once, so recording does not allocate.
	lookupAttrs [numKinds][numOutcomes][]metric.AddOption
}

func newTelemetry(set component.TelemetrySettings) (*telemetry, error) {
	tb, err := metadata.NewTelemetryBuilder(set)
	if err != nil {
		return nil, err
	}
	t := &telemetry{tb: tb}
	for k := range numKinds {
		for o := range numOutcomes {
			t.lookupAttrs[k][o] = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(
				attribute.String("outcome", outcomeNames[o]),
				attribute.String("rule", kindNames[k]),
			))}
		}
	}
	return t, nil
}

func (t *telemetry) record(ctx context.Context, s *stats) {
	if s.spans > 0 {
		t.tb.CacheMetricsSpansExamined.Add(ctx, s.spans)
	}
	for k := range numKinds {
		for o := range numOutcomes {
			if n := s.lookups[k][o]; n > 0 {
				t.tb.CacheMetricsLookups.Add(ctx, n, t.lookupAttrs[k][o]...)
			}
		}
	}
	if s.overflow > 0 {
		t.tb.CacheMetricsOverflowLookups.Add(ctx, s.overflow)
	}
	if s.evictions > 0 {
		t.tb.CacheMetricsInferenceEvictions.Add(ctx, s.evictions)
	}
	if s.truncated > 0 {
		t.tb.CacheMetricsLabelValuesTruncated.Add(ctx, s.truncated)
	}
	if s.duplicates > 0 {
		t.tb.CacheMetricsDedupDuplicates.Add(ctx, s.duplicates)
	}
	if s.dedupEvictions > 0 {
		t.tb.CacheMetricsDedupEvictions.Add(ctx, s.dedupEvictions)
	}
}

// gauges records the sizes, sampled at each flush.
func (t *telemetry) gauges(ctx context.Context, series, tableSize, dedupSize int) {
	t.tb.CacheMetricsSeries.Record(ctx, int64(series))
	t.tb.CacheMetricsInferenceTableSize.Record(ctx, int64(tableSize))
	t.tb.CacheMetricsDedupTableSize.Record(ctx, int64(dedupSize))
}
