package evaluationmetrics // import "github.com/otelcol-flipt/otelcol-flipt/connector/evaluationmetrics"

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/otelcol-flipt/otelcol-flipt/connector/evaluationmetrics/internal/metadata"
)

// stats accumulates under the connector lock and is recorded once per batch
// or flush, never per span.
type stats struct {
	spans, records int64
	evals          [numSources][2]int64 // [source][0 result, 1 error]
	skipped        [numSkips]int64
	overflow       int64
	truncated      int64
	dedupEvicted   int64
}

// telemetry records the connector's own metrics through set.MeterProvider.
type telemetry struct {
	tb *metadata.TelemetryBuilder
	// Option slices built once, so recording does not allocate.
	evalAttrs [numSources][2][]metric.AddOption
	skipAttrs [numSkips][]metric.AddOption
}

func newTelemetry(set component.TelemetrySettings) (*telemetry, error) {
	tb, err := metadata.NewTelemetryBuilder(set)
	if err != nil {
		return nil, err
	}
	t := &telemetry{tb: tb}
	for s := range numSources {
		for o, outcome := range []string{"result", "error"} {
			t.evalAttrs[s][o] = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(
				attribute.String("source", sourceNames[s]),
				attribute.String("outcome", outcome),
			))}
		}
	}
	for r := range numSkips {
		t.skipAttrs[r] = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", skipNames[r])))}
	}
	return t, nil
}

func (t *telemetry) record(ctx context.Context, s *stats) {
	if s.spans > 0 {
		t.tb.EvaluationMetricsSpansExamined.Add(ctx, s.spans)
	}
	if s.records > 0 {
		t.tb.EvaluationMetricsLogRecordsExamined.Add(ctx, s.records)
	}
	for src := range numSources {
		for o := range 2 {
			if n := s.evals[src][o]; n > 0 {
				t.tb.EvaluationMetricsEvaluations.Add(ctx, n, t.evalAttrs[src][o]...)
			}
		}
	}
	for r := range numSkips {
		if n := s.skipped[r]; n > 0 {
			t.tb.EvaluationMetricsSkipped.Add(ctx, n, t.skipAttrs[r]...)
		}
	}
	if s.overflow > 0 {
		t.tb.EvaluationMetricsOverflowEvaluations.Add(ctx, s.overflow)
	}
	if s.truncated > 0 {
		t.tb.EvaluationMetricsLabelsTruncated.Add(ctx, s.truncated)
	}
	if s.dedupEvicted > 0 {
		t.tb.EvaluationMetricsDedupEvictions.Add(ctx, s.dedupEvicted)
	}
}
