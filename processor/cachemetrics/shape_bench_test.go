package cachemetrics

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-flipt/otelcol-flipt/processor/cachemetrics/internal/metadata"
)

// Rerun:
//
//	go test -run '^$' -bench 'Shape$' -benchmem ./processor/cachemetrics/
//	go test -run '^$' -bench ShapeLockHeld -benchtime 200x ./processor/cachemetrics/
//
// A chain and a flat batch hold the same spans (one lookup at the root, one
// backend span, the rest plain); only the parent links differ. Inference
// must cost about the same per span for both. Each call gets a trace ID of
// its own, untimed, so the lookup is new each time, not a re-send that
// dedup skips.
func BenchmarkShape(b *testing.B) {
	for _, n := range []int{2_000, 32_000} {
		for _, shape := range []string{"flat", "chain_root_first", "chain_leaf_first"} {
			b.Run(fmt.Sprintf("%s/%d", shape, n), func(b *testing.B) {
				benchConsume(b, shapedBatch(shape, n))
			})
		}
	}
}

// BenchmarkShapeLockHeld times only the part of a call that holds the
// connector's lock (apply); the classification (scan) runs untimed.
func BenchmarkShapeLockHeld(b *testing.B) {
	for _, shape := range []string{"flat", "chain_root_first"} {
		b.Run(shape+"/32000", func(b *testing.B) {
			td := shapedBatch(shape, 32_000)
			f := NewFactory()
			cfg := f.CreateDefaultConfig().(*Config)
			cfg.Preset = PresetFlipt
			c, err := newConnector(connectortest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop(), time.Now)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				setTrace(td, uint32(i))
				bt := c.getBatch()
				c.scan(bt, td)
				b.StartTimer()
				c.mu.Lock()
				c.apply(bt)
				c.takeStats()
				c.mu.Unlock()
				b.StopTimer()
				c.putBatch(bt)
				b.StartTimer()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e3, "µs-locked/op")
		})
	}
}

// shapedBatch lays out n spans of one trace: span 1 is the lookup root and
// span n the backend span. flat: every other span is a child of the root;
// chain: span i is the parent of span i+1.
func shapedBatch(shape string, n int) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "flipt")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	spans.EnsureCapacity(n)
	tid := pcommon.TraceID{1, 2, 3}
	for k := range n {
		i := k + 1
		if shape == "chain_leaf_first" {
			i = n - k
		}
		s := spans.AppendEmpty()
		s.SetTraceID(tid)
		s.SetSpanID(spanID(i))
		switch {
		case i == 1:
			s.SetName("flipt.evaluation.EvaluationService/Boolean")
		case shape == "flat":
			s.SetParentSpanID(spanID(1))
		default:
			s.SetParentSpanID(spanID(i - 1))
		}
		if i > 1 {
			s.SetName("step")
		}
		if i == n {
			s.Attributes().PutStr("db.system.name", "sqlite")
		}
	}
	return td
}

// setTrace gives every span of td the trace ID of call i.
func setTrace(td ptrace.Traces, i uint32) {
	tid := pcommon.TraceID{1, 2, 3, byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)}
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			spans := ss.Spans()
			for k := range spans.Len() {
				spans.At(k).SetTraceID(tid)
			}
		}
	}
}

func spanID(i int) pcommon.SpanID {
	return pcommon.SpanID{byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i), 0xab}
}

func benchConsume(b *testing.B, td ptrace.Traces) {
	f := NewFactory()
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.Preset = PresetFlipt
	c, err := f.CreateTracesToMetrics(context.Background(), connectortest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Shutdown(context.Background()) })
	ctx := context.Background()
	n := td.SpanCount()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		setTrace(td, uint32(i))
		b.StartTimer()
		if err := c.ConsumeTraces(ctx, td); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n*b.N), "ns/span")
}
