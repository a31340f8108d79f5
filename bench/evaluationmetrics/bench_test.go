// Package evaluationmetrics_test compares the evaluation_metrics connector
// with contrib's spanmetricsconnector v0.155.0 on the same span batches: the
// traces of a real Flipt v1.61.1 and a real Flipt v2.11.0. Both are built
// from their factories and fed through ConsumeTraces only (no flush), which
// is the per-span path. Every replay gets fresh trace IDs, as live traffic
// would (so the dedup table fills and turns over and nothing is skipped as
// a re-send); the rewriting of IDs is left out of the timing.
//
//	cd bench && go test -run '^$' -bench . -benchmem ./evaluationmetrics/
package evaluationmetrics_test

import (
	"context"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/connector/spanmetricsconnector"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-flipt/otelcol-flipt/bench/internal/spanrate"
	"github.com/otelcol-flipt/otelcol-flipt/connector/evaluationmetrics"
	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
)

type contender struct {
	name    string
	factory connector.Factory
	config  func(component.Config)
}

var contenders = []contender{
	// The factory default: every source, dedup on.
	{"evaluation_metrics", evaluationmetrics.NewFactory(), func(component.Config) {}},
	{"evaluation_metrics_no_dedup", evaluationmetrics.NewFactory(), func(c component.Config) {
		c.(*evaluationmetrics.Config).Dedup.Window = 0
	}},
	{"evaluation_metrics_v2_labels", evaluationmetrics.NewFactory(), func(c component.Config) {
		c.(*evaluationmetrics.Config).Labels = evaluationmetrics.LabelsV2
	}},
	// span_metrics with its defaults (service, span name, kind, status)...
	{"span_metrics", spanmetricsconnector.NewFactory(), func(component.Config) {}},
	// ...and with the v1 evaluation attributes as dimensions, the nearest it
	// comes to Flipt's labels (it cannot read span events).
	{"span_metrics_flipt_dims", spanmetricsconnector.NewFactory(), func(c component.Config) {
		cfg := c.(*spanmetricsconnector.Config)
		for _, d := range []string{"flipt.namespace", "flipt.flag", "flipt.match", "flipt.reason", "flipt.value"} {
			cfg.Dimensions = append(cfg.Dimensions, spanmetricsconnector.Dimension{Name: d})
		}
	}},
}

func newTraces(b *testing.B, f connector.Factory, mutate func(component.Config)) connector.Traces {
	b.Helper()
	cfg := f.CreateDefaultConfig()
	mutate(cfg)
	c, err := f.CreateTracesToMetrics(context.Background(), connectortest.NewNopSettings(f.Type()), cfg, consumertest.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Shutdown(context.Background()) })
	return c
}

func run(b *testing.B, batches []ptrace.Traces) {
	spans := 0
	for _, td := range batches {
		spans += td.SpanCount()
	}
	for _, ct := range contenders {
		b.Run(ct.name, func(b *testing.B) {
			c := newTraces(b, ct.factory, ct.config)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			setup := spanrate.NewSetup(b)
			for i := 0; b.Loop(); i++ {
				td := batches[i%len(batches)]
				setup.Begin()
				fliptcapture.Retrace(td, uint32(i))
				setup.End()
				if err := c.ConsumeTraces(ctx, td); err != nil {
					b.Fatal(err)
				}
			}
			setup.Report(float64(spans) / float64(len(batches)))
		})
	}
}

// BenchmarkFliptV1Captures replays the 8 bodies a real Flipt v1.61.1 sent
// (616 spans, 34 of them evaluations carrying their result).
func BenchmarkFliptV1Captures(b *testing.B) {
	run(b, fliptcapture.Traces(b))
}

// BenchmarkFliptV2Captures replays the 4 trace bodies a real Flipt v2.11.0
// sent (619 spans, 422 flipt.flag_evaluation events).
func BenchmarkFliptV2Captures(b *testing.B) {
	run(b, fliptcapture.V2Traces(b))
}
