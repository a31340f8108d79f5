package cachemetrics

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
)

// scan's short path for backend spans with no lookup of their own must
// leave the batch as examine alone would, span by span: the same lookups,
// lookup spans, sightings and graph (every node's key, presence and mark).
// Checked on Flipt's captures in their order and shuffled, and on random
// spans mixing backend and hit keys, events and parents, with the preset,
// attribute rules alone, inference alone, events off, and a backend
// condition on values.
func TestScanShortPathAgreesWithExamine(t *testing.T) {
	configs := map[string]func(*Config){
		"preset":         withPreset,
		"attribute only": nil,
		"inference only": func(c *Config) { withPreset(c); c.AttributeRules.Enabled = false },
		"events off":     func(c *Config) { withPreset(c); c.AttributeRules.SpanEvents = false },
		"backend values": func(c *Config) {
			withPreset(c)
			c.Inference.Backend.AnyOf = []AttributeCondition{{Key: "db.system.name", Values: []string{"postgresql"}}, {Key: "db.system"}}
		},
	}
	r := rand.New(rand.NewPCG(11, 12))
	var inputs []ptrace.Traces
	for _, td := range fliptcapture.Traces(t) {
		inputs = append(inputs, td, shuffled(r, td))
	}
	for range 200 {
		inputs = append(inputs, randomSpans(r))
	}
	for name, mutate := range configs {
		c := newHarness(t, mutate).c
		for i, td := range inputs {
			short, plain := newBatch(c.keys), newBatch(c.keys)
			c.scan(short, td)
			plainScan(c, plain, td)
			require.Equal(t, plain.spans, short.spans, "%s input %d", name, i)
			require.Equal(t, plain.lookups, short.lookups, "%s input %d", name, i)
			require.Equal(t, plain.found, short.found, "%s input %d", name, i)
			require.Equal(t, plain.sightings, short.sightings, "%s input %d", name, i)
			require.Equal(t, plain.graph.Len(), short.graph.Len(), "%s input %d", name, i)
			for n := range int32(plain.graph.Len()) {
				require.Equal(t, plain.graph.Key(n), short.graph.Key(n), "%s input %d node %d", name, i, n)
				require.Equal(t, plain.graph.Present(n), short.graph.Present(n), "%s input %d node %d", name, i, n)
				require.Equal(t, plain.graph.Marked(n), short.graph.Marked(n), "%s input %d node %d", name, i, n)
			}
		}
	}
}

// plainScan is scan with every span through examine.
func plainScan(c *cacheConnector, b *batch, td ptrace.Traces) {
	for _, rs := range td.ResourceSpans().All() {
		b.res = append(b.res, resRef{s: c.store, attrs: rs.Resource().Attributes()})
		res := int32(len(b.res) - 1)
		for _, ss := range rs.ScopeSpans().All() {
			b.spans += int64(ss.Spans().Len())
			for _, span := range ss.Spans().All() {
				c.examine(b, span, c.idx.scan(span.Attributes(), b.vals), res)
			}
		}
	}
}

// shuffled is td with the spans of each scope in random order.
func shuffled(r *rand.Rand, td ptrace.Traces) ptrace.Traces {
	out := ptrace.NewTraces()
	td.CopyTo(out)
	for _, rs := range out.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			spans := ptrace.NewSpanSlice()
			ss.Spans().MoveAndAppendTo(spans)
			order := r.Perm(spans.Len())
			for _, k := range order {
				spans.At(k).CopyTo(ss.Spans().AppendEmpty())
			}
		}
	}
	return out
}

// randomSpans is one scope of up to 40 spans of a few traces, parents
// picked among the batch's IDs (some absent, some empty), with any mix of
// backend keys (with and without the value a condition names), hit keys on
// the span or an event, and lookup and other names.
func randomSpans(r *rand.Rand) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "flipt")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	names := []string{"flipt.evaluation.EvaluationService/Variant", "flipt.Flipt/GetFlag", "flipt.Flipt/CreateFlag", "sql.conn.query", "grpc-gateway"}
	n := r.IntN(40)
	for i := range n {
		s := spans.AppendEmpty()
		s.SetName(names[r.IntN(len(names))])
		s.SetTraceID(pcommon.TraceID{byte(r.IntN(3)), 1})
		if r.IntN(10) > 0 {
			s.SetSpanID(pcommon.SpanID{byte(i + 1), 2})
		}
		if r.IntN(4) > 0 {
			s.SetParentSpanID(pcommon.SpanID{byte(r.IntN(n+4) + 1), 2})
		}
		a := s.Attributes()
		a.PutStr("db.statement", "SELECT 1")
		switch r.IntN(4) {
		case 0:
			a.PutStr("db.system.name", []string{"sqlite", "postgresql"}[r.IntN(2)])
		case 1:
			a.PutStr("db.system", "postgresql")
		}
		switch r.IntN(6) {
		case 0:
			a.PutBool("cache.hit", r.IntN(2) == 0)
			a.PutStr("cache.backend", "memory")
		case 1:
			a.PutStr("flipt.cache.hit", "true")
		}
		if r.IntN(6) == 0 {
			ev := s.Events().AppendEmpty()
			ev.Attributes().PutBool("cache.hit", r.IntN(2) == 0)
		}
	}
	return td
}
