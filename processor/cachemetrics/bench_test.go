package cachemetrics

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-flipt/otelcol-flipt/processor/cachemetrics/internal/metadata"
)

// The per-span path with the injected clock, so tables turn over as they
// would in live traffic: every batch is a fresh set of traces, and the clock
// moves `step` per batch, so a batch comes round again only after every
// window and TTL is over.
//
//	go test -run '^$' -bench . -benchmem ./processor/cachemetrics/

const benchRounds = 64

func benchConnector(b *testing.B, mutate func(*Config)) (*cacheConnector, *fakeClock) {
	b.Helper()
	cfg := createDefaultConfig().(*Config)
	if mutate != nil {
		mutate(cfg)
	}
	if err := cfg.Validate(); err != nil {
		b.Fatal(err)
	}
	clock := newFakeClock()
	c, err := newConnector(connectortest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop(), clock.Now)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Shutdown(context.Background()) })
	return c, clock
}

// runBatches consumes the batches in turn, each `copies` times in a row (a
// re-sent export), and reports ns per span consumed.
func runBatches(b *testing.B, c *cacheConnector, clock *fakeClock, batches []ptrace.Traces, step time.Duration, copies int) {
	spans := 0
	for _, td := range batches {
		spans += td.SpanCount()
	}
	perCall := float64(spans) / float64(len(batches))
	ctx := context.Background()
	// Three passes first, so the tables have grown to their working size.
	for range 3 {
		for _, td := range batches {
			for range copies {
				if err := c.ConsumeTraces(ctx, td); err != nil {
					b.Fatal(err)
				}
			}
			clock.Advance(step)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		td := batches[(i/copies)%len(batches)]
		if err := c.ConsumeTraces(ctx, td); err != nil {
			b.Fatal(err)
		}
		if i%copies == copies-1 {
			clock.Advance(step)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/(perCall*float64(b.N)), "ns/span")
}

// freshTraces gives each round of bodies its own trace IDs.
func freshTraces(bodies []ptrace.Traces) []ptrace.Traces {
	var out []ptrace.Traces
	for round := range benchRounds {
		for _, body := range bodies {
			td := ptrace.NewTraces()
			body.CopyTo(td)
			for _, rs := range td.ResourceSpans().All() {
				for _, ss := range rs.ScopeSpans().All() {
					for _, s := range ss.Spans().All() {
						id := s.TraceID()
						id[15] ^= byte(round)
						id[14] ^= 0x5a
						s.SetTraceID(id)
					}
				}
			}
			out = append(out, td)
		}
	}
	return out
}

// attributeBatches are batches of 512 spans, every fourth carrying cache.hit.
func attributeBatches() []ptrace.Traces {
	var out []ptrace.Traces
	for round := range benchRounds {
		td := ptrace.NewTraces()
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", "flipt")
		rs.Resource().Attributes().PutStr("service.instance.id", "flipt-0")
		spans := rs.ScopeSpans().AppendEmpty().Spans()
		for i := range 512 {
			s := spans.AppendEmpty()
			s.SetTraceID(pcommon.TraceID{byte(round), byte(i >> 8), byte(i), 1})
			s.SetSpanID(pcommon.SpanID{byte(i >> 8), byte(i), 2})
			s.SetParentSpanID(pcommon.SpanID{byte(i >> 8), byte(i), 3})
			s.SetKind(ptrace.SpanKindServer)
			s.SetName("flipt.evaluation.EvaluationService/Variant")
			a := s.Attributes()
			a.PutStr("rpc.system.name", "grpc")
			a.PutStr("rpc.method", "Variant")
			a.PutStr("flipt.namespace", "default")
			a.PutStr("flipt.flag", "flag-"+string(rune('a'+i%8)))
			if i%4 == 0 {
				a.PutBool("cache.hit", i%8 == 0)
				a.PutStr("cache.backend", "memory")
				a.PutStr("cache.type", "flag")
			}
		}
		out = append(out, td)
	}
	return out
}

// BenchmarkConsumeFliptCaptures: the inference path on Flipt's real spans,
// 512 batches a second apart (longer than every default window).
func BenchmarkConsumeFliptCaptures(b *testing.B) {
	batches := freshTraces(loadCaptures(b))
	b.Run("new", func(b *testing.B) {
		c, clock := benchConnector(b, withPreset)
		runBatches(b, c, clock, batches, time.Second, 1)
	})
	b.Run("resent_3x", func(b *testing.B) {
		c, clock := benchConnector(b, withPreset)
		runBatches(b, c, clock, batches, time.Second, 3)
	})
	b.Run("new_dedup_off", func(b *testing.B) {
		c, clock := benchConnector(b, func(c *Config) { withPreset(c); c.Dedup.Window = 0 })
		runBatches(b, c, clock, batches, time.Second, 1)
	})
}

// BenchmarkConsumeAttributeSpans: the attribute-rule path, 64 batches five
// seconds apart.
func BenchmarkConsumeAttributeSpans(b *testing.B) {
	batches := attributeBatches()
	b.Run("new", func(b *testing.B) {
		c, clock := benchConnector(b, nil)
		runBatches(b, c, clock, batches, 5*time.Second, 1)
	})
	b.Run("resent_3x", func(b *testing.B) {
		c, clock := benchConnector(b, nil)
		runBatches(b, c, clock, batches, 5*time.Second, 3)
	})
	b.Run("new_dedup_off", func(b *testing.B) {
		c, clock := benchConnector(b, func(c *Config) { c.Dedup.Window = 0 })
		runBatches(b, c, clock, batches, 5*time.Second, 1)
	})
}
