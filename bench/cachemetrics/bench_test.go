// Package cachemetrics_test compares the cache_metrics connector with
// contrib's spanmetricsconnector v0.155.0 on the same span batches. Both are
// built from their factories and fed through ConsumeTraces only (no flush),
// which is the per-span path. Each pass over the batches gets fresh trace
// IDs: cache_metrics remembers the spans it counted (dedup), so a batch
// replayed as it was is a re-send it skips, not new spans. The rewrite is
// the benchmark's setup, not a connector's work: it is timed apart and
// subtracted (spanrate), one round of bodies at a time just before they are
// consumed, the same for both contenders, and every batch either sees is new
// to it.
//
//	cd bench && go test -run '^$' -bench . -benchmem ./cachemetrics/
package cachemetrics_test

import (
	"context"
	"flag"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/connector/spanmetricsconnector"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-flipt/otelcol-flipt/bench/internal/spanrate"
	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
	"github.com/otelcol-flipt/otelcol-flipt/processor/cachemetrics"
)

type contender struct {
	name    string
	factory connector.Factory
	config  func(component.Config)
	// warm: run to the steady state before timing (see run).
	warm bool
}

var contenders = []contender{
	// The default pipeline's setup: attribute rules and the flipt preset.
	{"cache_metrics_flipt", cachemetrics.NewFactory(), func(c component.Config) {
		c.(*cachemetrics.Config).Preset = cachemetrics.PresetFlipt
	}, true},
	// Attribute rules only (the factory default).
	{"cache_metrics_attr", cachemetrics.NewFactory(), func(component.Config) {}, true},
	// Not warmed: span_metrics keeps an exemplar per span until it flushes,
	// which ConsumeTraces alone never does, so a warm-up would only make
	// its timed loop slower.
	{"span_metrics", spanmetricsconnector.NewFactory(), func(component.Config) {}, false},
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

// steadyEntries is the default bound of cache_metrics' dedup and inference
// tables; steadyWait is past its default inference wait.
const (
	steadyEntries = 100_000
	steadyWait    = 2500 * time.Millisecond
)

// countedWarmUp warms up by batches alone: under cachegrind the wall-clock
// wait would warm a different number of batches each run, and instruction
// counts taken as the difference of two runs would move with it.
var countedWarmUp = flag.Bool("cachemetrics.countedwarmup", false, "warm up by batch count alone, without the wall-clock wait (for instruction counts)")

// run times each contender on the batches in turn. renew batches at a time
// (it divides len(batches)) get the next pass's trace IDs.
func run(b *testing.B, batches []ptrace.Traces, renew int) {
	spans := 0
	for _, td := range batches {
		spans += td.SpanCount()
	}
	for _, ct := range contenders {
		b.Run(ct.name, func(b *testing.B) {
			c := newTraces(b, ct.factory, ct.config)
			ctx := context.Background()
			var setup *spanrate.Setup // nil while warming up: nothing timed
			consume := func(i int) {
				if pass := i / len(batches); pass > 0 && i%renew == 0 {
					// Setup, not timed, just before the batches it
					// renews, so they are in cache as a batch a
					// receiver has just decoded would be.
					if setup != nil {
						setup.Begin()
					}
					for _, td := range batches[i%len(batches):][:renew] {
						newPass(td, uint32(pass))
					}
					if setup != nil {
						setup.End()
					}
				}
				if err := c.ConsumeTraces(ctx, batches[i%len(batches)]); err != nil {
					b.Fatal(err)
				}
			}
			// Steady state: untimed, fill cache_metrics' dedup and
			// inference tables (100,000 entries each by default) three
			// times over, and run past the inference wait (2 s by
			// default), until when parked lookups only accumulate, so
			// that the timed loop neither grows the tables nor counts
			// their first growth as cost per batch.
			i := 0
			for start := time.Now(); ct.warm && (i < len(batches)*(3*steadyEntries/spans+1) || !*countedWarmUp && time.Since(start) < steadyWait); i++ {
				consume(i)
			}
			b.ReportAllocs()
			b.ResetTimer()
			setup = spanrate.NewSetup(b)
			for ; b.Loop(); i++ {
				consume(i)
			}
			setup.Report(float64(spans) / float64(len(batches)))
		})
	}
}

// newPass turns the trace IDs td had in pass-1 into those of pass, the same
// change for every span of a trace, so parent links still hold. The passes
// differ in bytes 8 to 11, so 2^32 passes never repeat an ID.
func newPass(td ptrace.Traces, pass uint32) {
	d := pass ^ (pass - 1)
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			spans := ss.Spans()
			for k := range spans.Len() {
				s := spans.At(k)
				id := s.TraceID()
				id[8] ^= byte(d)
				id[9] ^= byte(d >> 8)
				id[10] ^= byte(d >> 16)
				id[11] ^= byte(d >> 24)
				s.SetTraceID(id)
			}
		}
	}
}

// BenchmarkFliptCaptures replays the 8 bodies a real Flipt v1.61.1 sent (616
// spans, no cache attribute: the inference path). Each replay gets fresh
// trace IDs, as live traffic would, so the inference and dedup tables fill
// and turn over.
func BenchmarkFliptCaptures(b *testing.B) {
	bodies := fliptcapture.Traces(b)
	var batches []ptrace.Traces
	for round := range 64 {
		for _, body := range bodies {
			td := ptrace.NewTraces()
			body.CopyTo(td)
			fliptcapture.Retrace(td, uint32(round))
			batches = append(batches, td)
		}
	}
	run(b, batches, len(bodies))
}

// BenchmarkAttributeSpans is a batch of 512 server and client spans where
// every fourth one carries cache.hit: the attribute-rule path.
func BenchmarkAttributeSpans(b *testing.B) {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "flipt")
	rs.Resource().Attributes().PutStr("service.instance.id", "flipt-0")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	for i := range 512 {
		s := spans.AppendEmpty()
		s.SetTraceID(pcommon.TraceID{byte(i >> 8), byte(i), 1})
		s.SetSpanID(pcommon.SpanID{byte(i >> 8), byte(i), 2})
		s.SetParentSpanID(pcommon.SpanID{byte(i >> 8), byte(i), 3})
		s.SetKind(ptrace.SpanKindServer)
		s.SetName("flipt.evaluation.EvaluationService/Variant")
		a := s.Attributes()
		a.PutStr("rpc.system.name", "grpc")
		a.PutStr("rpc.method", "Variant")
		a.PutInt("rpc.response.status_code", 0)
		a.PutStr("flipt.namespace", "default")
		a.PutStr("flipt.flag", "flag-"+string(rune('a'+i%8)))
		a.PutStr("feature_flag.provider.name", "Flipt")
		if i%4 == 0 {
			a.PutBool("cache.hit", i%8 == 0)
			a.PutStr("cache.backend", "memory")
			a.PutStr("cache.type", "flag")
		}
	}
	run(b, []ptrace.Traces{td}, 1)
}
