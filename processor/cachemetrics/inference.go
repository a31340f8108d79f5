package cachemetrics // import "github.com/otelcol-flipt/otelcol-flipt/processor/cachemetrics"

import (
	"encoding/binary"
	"math/bits"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-flipt/otelcol-flipt/processor/cachemetrics/internal/ancestry"
	"github.com/otelcol-flipt/otelcol-flipt/processor/cachemetrics/internal/fifo"
	"github.com/otelcol-flipt/otelcol-flipt/processor/cachemetrics/internal/glob"
	"github.com/otelcol-flipt/otelcol-flipt/processor/cachemetrics/internal/marks"
)

type inferRule struct {
	names      glob.Set
	cache, typ string
	counted    seriesCache // guarded by the connector's lock
}

type backendCond struct {
	key    string
	values []string
}

// pendingLookup is a lookup span with no backend descendant seen yet.
type pendingLookup struct {
	key      uint64
	res      *resourceState
	rule     *inferRule
	deadline int64
}

// inferrer decides lookup spans by whether a backend span lies below them.
// Spans end child-first, so a backend span arrives in an earlier batch than
// its ancestors or in the same one, in any order. A mark says "this span has
// a backend descendant". Within a batch, each mark goes up the parent chain
// once, stopping at a span already marked (internal/ancestry), so a batch
// costs time linear in its spans whatever its order or shape; then the
// batch's lookups are decided, or parked for a short wait if unmarked. Marks
// whose span has not arrived yet (the frontier) stay in a bounded,
// time-limited table for later batches. Spans are keyed by a 64-bit
// fingerprint of trace and span ID.
//
// observe runs outside the connector's lock on the caller's own batch;
// endBatch and everything after it run under the lock. A lookup span counted
// before (dedup) is not decided again, but a mark it gets in this batch is
// kept in the frontier, where its first copy, still held, reads it.
type inferrer struct {
	rules      []inferRule
	backend    []backendCond
	keys       scanKeys
	wait       int64
	maxPending int
	frontier   *marks.Table[uint64]
	// anyValue: the backend keys whose presence alone makes a backend
	// span; backends: all of them.
	anyValue, backends uint64
	names              glob.Filter // of every rule's span names

	// Parked lookups in arrival order, so deadlines are ordered. A mark
	// arriving for one goes to the frontier, read when its wait is over.
	pending fifo.Queue[pendingLookup]
	early   uint64 // parked lookups decided early: no room

	decide func(p *pendingLookup, o outcome)
}

func newInferrer(cfg Inference, rules []InferenceRule, keys scanKeys, decide func(*pendingLookup, outcome)) *inferrer {
	if len(rules) == 0 {
		return nil
	}
	in := &inferrer{
		keys:       keys,
		wait:       int64(cfg.Wait),
		maxPending: cfg.MaxEntries,
		frontier:   marks.New[uint64](cfg.MaxEntries, int64(cfg.EntryTTL)),
		decide:     decide,
	}
	for _, r := range rules {
		in.rules = append(in.rules, inferRule{names: glob.CompileAll(r.SpanNames), cache: r.Cache, typ: r.Type})
	}
	var sets []glob.Set
	for i := range in.rules {
		sets = append(sets, in.rules[i].names)
	}
	in.names = glob.NewFilter(sets...)
	for j, c := range cfg.Backend.AnyOf {
		in.backend = append(in.backend, backendCond{key: c.Key, values: c.Values})
		bit := uint64(1) << (keys.backend + j)
		in.backends |= bit
		if len(c.Values) == 0 {
			in.anyValue |= bit
		}
	}
	return in
}

// fingerprint mixes trace and span ID into one map key; for random IDs a
// collision in a table of 100k entries has a chance of about 1e-9.
func fingerprint(t pcommon.TraceID, s pcommon.SpanID) uint64 {
	return spanKey(traceMix(t), s)
}

// traceMix is the trace's part of a fingerprint, worked out once for a
// span's own key and its parent's.
func traceMix(t pcommon.TraceID) uint64 {
	a := binary.LittleEndian.Uint64(t[:8]) * 0x9e3779b97f4a7c15
	b := binary.LittleEndian.Uint64(t[8:]) * 0xc2b2ae3d27d4eb4f
	return a ^ bits.RotateLeft64(b, 31)
}

func spanKey(trace uint64, s pcommon.SpanID) uint64 {
	return binary.LittleEndian.Uint64(s[:]) ^ trace
}

// markParent takes a backend span of the caller's batch. Backend spans are
// leaves in practice and never lookups: it marks the parent, once for a run
// of siblings, and nothing else.
func (b *batch) markParent(s ptrace.Span) {
	pid := s.ParentSpanID()
	p := binary.LittleEndian.Uint64(pid[:])
	if p == 0 { // pid.IsEmpty(), on the word already loaded
		return
	}
	tid := s.TraceID()
	if parent := p ^ traceMix(tid); !b.hasMarked || parent != b.lastMarked {
		b.graph.Mark(parent)
		b.lastMarked, b.hasMarked = parent, true
	}
}

// observe takes one span of the caller's batch that is not a backend span
// and reports whether it is a lookup span (appended to found). A span
// already counted by an attribute rule is not a lookup again.
func (in *inferrer) observe(b *batch, s ptrace.Span, res int32, counted bool) bool {
	pid := s.ParentSpanID()
	p := binary.LittleEndian.Uint64(pid[:])
	hasParent := p != 0 // pid.IsEmpty(), on the word already loaded
	trace := traceMix(s.TraceID())
	var parent uint64
	if hasParent {
		parent = p ^ trace
	}
	key := spanKey(trace, s.SpanID())
	n := b.graph.Span(key, parent, hasParent)
	if counted {
		return false
	}
	name := s.Name()
	if !in.names.May(name) {
		return false
	}
	for i := range in.rules {
		if in.rules[i].names.Match(name) {
			b.found = append(b.found, foundLookup{pendingLookup: pendingLookup{key: key, rule: &in.rules[i]}, node: n, res: res})
			return true
		}
	}
	return false
}

// isBackend is short enough to inline: most spans are told by the mask
// alone, and only a condition on values needs the loop of hasValue.
func (in *inferrer) isBackend(mask uint64, vals []pcommon.Value) bool {
	return mask&in.backends != 0 && (mask&in.anyValue != 0 || in.hasValue(mask, vals))
}

// hasValue reports whether a backend key present has one of its values.
func (in *inferrer) hasValue(mask uint64, vals []pcommon.Value) bool {
	for j, c := range in.backend {
		i := in.keys.backend + j
		if mask&(1<<i) == 0 {
			continue
		}
		if len(c.values) == 0 {
			return true
		}
		v := vals[i]
		s := v.Str()
		if v.Type() != pcommon.ValueTypeStr {
			s = v.AsString()
		}
		for _, want := range c.values {
			if s == want {
				return true
			}
		}
	}
	return false
}

// endBatch adds the marks earlier batches left for this batch's spans,
// decides or parks the batch's lookups and keeps the frontier for later
// batches. Called with the lock held.
func (in *inferrer) endBatch(b *batch, now int64) {
	g := &b.graph
	if in.frontier.Len() > 0 {
		for n := range ancestry.Node(g.Len()) {
			if !g.Present(n) || g.Marked(n) {
				continue
			}
			if in.frontier.Has(g.Key(n), now) {
				g.MarkNode(n)
			}
		}
	}
	for i := range b.found {
		f := &b.found[i]
		if f.resent {
			// A re-send regrouped upstream may bring the backend span the
			// first copy lacked; the first copy may still be held.
			if g.Marked(f.node) {
				in.frontier.Put(f.key, now)
			}
			continue
		}
		f.pendingLookup.res = b.res[f.res].get()
		switch {
		case g.Marked(f.node):
			in.decide(&f.pendingLookup, miss)
		case in.wait == 0:
			in.decide(&f.pendingLookup, hit)
		default:
			in.park(&f.pendingLookup, now)
		}
	}
	for n := range ancestry.Node(g.Len()) {
		// Marked but not in this batch: an ancestor still to come, or a
		// parked lookup.
		if g.Marked(n) && !g.Present(n) {
			in.frontier.Put(g.Key(n), now)
		}
	}
	in.expirePending(now)
	in.frontier.Expire(now) // after expirePending, which reads marks as of deadlines
}

// size is the number of entries held: marks plus parked lookups.
func (in *inferrer) size() int {
	return in.frontier.Len() + in.pending.Len()
}

// evictions counts entries given up early because a table was full.
func (in *inferrer) evictions() uint64 {
	return in.frontier.Evictions() + in.early
}
