package cachemetrics // import "github.com/otelcol-flipt/otelcol-flipt/processor/cachemetrics"

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-flipt/otelcol-flipt/processor/cachemetrics/internal/ancestry"
)

// maxKeptSpans: a scratch that held more spans than this is left to the
// garbage collector rather than kept, so one huge export does not pin memory.
const maxKeptSpans = 1 << 16

// batch is what one ConsumeTraces call learns from its spans before it takes
// the lock: the attribute lookups, the lookup spans of inference, the
// identities of the spans that carry them, and the marks within the batch.
// Each call has its own (kept for reuse), so calls classify in parallel and
// the lock covers only the shared tables, the dedup table among them.
type batch struct {
	vals      []pcommon.Value // scan of one span
	evVals    []pcommon.Value // scan of one span event
	scratch   []lookup
	res       []resRef // one per ResourceSpans; resolved under the lock
	lookups   []batchLookup
	found     []foundLookup
	sightings []sighting // one per span with a lookup, in span order
	graph     ancestry.Graph
	spans     int64
	// lastMarked is the parent marked last, so sibling backend spans in a
	// row mark it once.
	lastMarked uint64
	hasMarked  bool
}

// batchLookup is an attribute-rule lookup and the resource it came from.
type batchLookup struct {
	lookup
	res int32
}

// foundLookup is a lookup span of inference, decided under the lock; its
// resource is resolved there too. resent is set under the lock when the
// span was counted before (dedup).
type foundLookup struct {
	pendingLookup
	node   ancestry.Node
	res    int32
	resent bool
}

// sighting is a span of the batch that carries lookups (attribute lookups
// of the span or its events, an inference lookup, or both): its identity,
// looked up in the dedup table under the lock, and what it would count.
type sighting struct {
	key   uint64 // fingerprint of trace and span ID
	ided  bool   // both IDs set: a re-send can be told apart
	end   int32  // its attribute lookups are lookups[end of the previous sighting:end]
	found int32  // its inference lookup in found, or noFound
}

const noFound = -1

func newBatch(keys int) *batch {
	return &batch{vals: make([]pcommon.Value, keys), evVals: make([]pcommon.Value, keys)}
}

// scan classifies every span of td; it reads only configuration and td.
func (c *cacheConnector) scan(b *batch, td ptrace.Traces) {
	rss := td.ResourceSpans()
	for i := range rss.Len() {
		rs := rss.At(i)
		b.res = append(b.res, resRef{s: c.store, attrs: rs.Resource().Attributes()})
		res := int32(len(b.res) - 1)
		sss := rs.ScopeSpans()
		for j := range sss.Len() {
			spans := sss.At(j).Spans()
			b.spans += int64(spans.Len())
			c.scanSpans(b, spans, res)
		}
	}
}

// scanSpans classifies the spans of one scope. A loop of its own, so the
// few values it carries stay in registers across its calls, where the
// nested loops of scan reloaded a dozen from the stack per span.
func (c *cacheConnector) scanSpans(b *batch, spans ptrace.SpanSlice, res int32) {
	for k := range spans.Len() {
		span := spans.At(k)
		mask := c.idx.scan(span.Attributes(), b.vals)
		if c.inf != nil && c.inf.isBackend(mask, b.vals) && (c.attr == nil || !c.attr.may(span, mask)) {
			// A backend span with no lookup of its own (most spans of
			// Flipt's traces) only marks its parent: a short path that
			// skips examine's frame.
			b.markParent(span)
			continue
		}
		c.examine(b, span, mask, res)
	}
}

// examine classifies one span given its scan (scan takes backend spans with
// no lookup on a short path of its own). Whether it counts is left to apply:
// only the dedup table, under the lock, knows whether it was counted before.
func (c *cacheConnector) examine(b *batch, span ptrace.Span, mask uint64, res int32) {
	counted := false
	had := len(b.lookups)
	if c.attr != nil && c.attr.may(span, mask) {
		b.scratch, counted = c.attr.span(span, mask, b.vals, b.evVals, b.scratch[:0])
		for _, l := range b.scratch {
			b.lookups = append(b.lookups, batchLookup{lookup: l, res: res})
		}
	}
	found := int32(noFound)
	switch {
	case c.inf == nil:
	case c.inf.isBackend(mask, b.vals):
		b.markParent(span)
	case c.inf.observe(b, span, res, counted):
		found = int32(len(b.found) - 1)
	}
	if found == noFound && len(b.lookups) == had {
		return // no lookup: nothing to remember
	}
	tid, sid := span.TraceID(), span.SpanID()
	b.sightings = append(b.sightings, sighting{
		key:   fingerprint(tid, sid),
		ided:  !tid.IsEmpty() && !sid.IsEmpty(),
		end:   int32(len(b.lookups)),
		found: found,
	})
}

// reset drops every reference into the caller's pdata; it reports whether
// the scratch is small enough to keep.
func (b *batch) reset() bool {
	keep := b.graph.Len() <= maxKeptSpans && len(b.lookups) <= maxKeptSpans && len(b.sightings) <= maxKeptSpans
	clear(b.vals)
	clear(b.evVals)
	clear(b.scratch[:cap(b.scratch)]) // resliced per span: clear what any span used
	clear(b.res)
	clear(b.lookups)
	clear(b.found)
	b.res, b.lookups, b.found, b.sightings = b.res[:0], b.lookups[:0], b.found[:0], b.sightings[:0]
	b.graph.Reset()
	b.spans, b.lastMarked, b.hasMarked = 0, 0, false
	return keep
}
