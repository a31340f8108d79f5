package cachemetrics // import "github.com/otelcol-flipt/otelcol-flipt/processor/cachemetrics"

import (
	"encoding/binary"
	"math/bits"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-flipt/otelcol-flipt/processor/cachemetrics/internal/fifo"
	"github.com/otelcol-flipt/otelcol-flipt/processor/cachemetrics/internal/glob"
	"github.com/otelcol-flipt/otelcol-flipt/processor/cachemetrics/internal/marks"
)

type inferRule struct {
	names      glob.Set
	cache, typ string
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

// link is a span of the batch not (yet) known to have a backend below it.
type link struct{ child, parent uint64 }

// inferrer decides lookup spans by whether a backend span lies below them.
// Spans end child-first, so a backend span arrives in an earlier batch than
// its ancestors or in the same one, in any order. A mark says "this span has
// a backend descendant". Within a batch, marks are pushed up the parent chain
// until nothing changes; then the batch's lookups are decided, or parked for
// a short wait if unmarked. Marks whose span has not arrived yet (the
// frontier) stay in a bounded, time-limited table for later batches. Spans
// are keyed by a 64-bit fingerprint of trace and span ID.
type inferrer struct {
	rules      []inferRule
	backend    []backendCond
	keys       scanKeys
	wait       int64
	maxPending int
	frontier   *marks.Table[uint64]

	// Per-batch state, reused so a batch does not allocate.
	batch   map[uint64]bool // marks of this batch → span seen in this batch
	changed bool            // a mark was set since the last pass over links
	// lastMarked is the parent marked last, so sibling backend spans in a
	// row cost no map access. Zero is never a fingerprint worth skipping.
	lastMarked uint64
	links      []link
	found      []pendingLookup
	// resent are lookups of this batch counted before (dedup): not decided
	// again, but a mark they get here is kept for the original still held.
	resent []uint64

	// Parked lookups in arrival order, so deadlines are ordered. A mark
	// arriving for one goes to the frontier, read when its wait is over.
	pending fifo.Queue[pendingLookup]
	early   uint64 // parked lookups decided early: no room

	dedup  *dedup // nil when off
	decide func(p *pendingLookup, o outcome)
}

func newInferrer(cfg Inference, rules []InferenceRule, keys scanKeys, dd *dedup, decide func(*pendingLookup, outcome)) *inferrer {
	if len(rules) == 0 {
		return nil
	}
	in := &inferrer{
		keys:       keys,
		wait:       int64(cfg.Wait),
		maxPending: cfg.MaxEntries,
		frontier:   marks.New[uint64](cfg.MaxEntries, int64(cfg.EntryTTL)),
		batch:      map[uint64]bool{},
		dedup:      dd,
		decide:     decide,
	}
	for _, r := range rules {
		in.rules = append(in.rules, inferRule{names: glob.CompileAll(r.SpanNames), cache: r.Cache, typ: r.Type})
	}
	for _, c := range cfg.Backend.AnyOf {
		in.backend = append(in.backend, backendCond{key: c.Key, values: c.Values})
	}
	return in
}

// fingerprint mixes trace and span ID into one map key; for random IDs a
// collision in a table of 100k entries has a chance of about 1e-9.
func fingerprint(t pcommon.TraceID, s pcommon.SpanID) uint64 {
	a := binary.LittleEndian.Uint64(t[:8]) * 0x9e3779b97f4a7c15
	b := binary.LittleEndian.Uint64(t[8:]) * 0xc2b2ae3d27d4eb4f
	return binary.LittleEndian.Uint64(s[:]) ^ a ^ bits.RotateLeft64(b, 31)
}

// observe takes one span of the current batch with its attribute scan. A
// span counted already (by an attribute rule, or within the dedup window)
// is not a lookup again, but its marks still travel up, and a lookup still
// waiting is not parked twice.
func (in *inferrer) observe(s ptrace.Span, res *resRef, sight sighting, mask uint64, vals []pcommon.Value, now int64) {
	tid := s.TraceID()
	if in.isBackend(mask, vals) {
		// Backend spans are leaves in practice and never lookups: mark the
		// parent, once for a run of siblings, and skip the rest.
		if pid := s.ParentSpanID(); !pid.IsEmpty() {
			if parent := fingerprint(tid, pid); parent != in.lastMarked {
				in.mark(parent)
				in.lastMarked = parent
			}
		}
		return
	}
	key := fingerprint(tid, s.SpanID())
	seen, marked := in.batch[key]
	if !marked {
		marked = in.frontier.Has(key, now)
	}
	if marked && !seen {
		in.batch[key] = true
	}
	if pid := s.ParentSpanID(); !pid.IsEmpty() {
		parent := fingerprint(tid, pid)
		if marked {
			in.mark(parent)
		} else {
			in.links = append(in.links, link{key, parent})
		}
	}
	if sight == counted {
		return
	}
	name := s.Name()
	for i := range in.rules {
		if in.rules[i].names.Match(name) {
			if sight == resent || sight == unchecked && !in.dedup.first(s, now) {
				in.resent = append(in.resent, key)
				return
			}
			in.found = append(in.found, pendingLookup{key: key, res: res.get(), rule: &in.rules[i]})
			return
		}
	}
}

func (in *inferrer) isBackend(mask uint64, vals []pcommon.Value) bool {
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

func (in *inferrer) mark(k uint64) {
	if _, ok := in.batch[k]; !ok {
		in.batch[k] = false
		in.changed = true
	}
}

// endBatch finishes marking, decides or parks the batch's lookups and keeps
// the frontier for later batches.
func (in *inferrer) endBatch(now int64) {
	// A span seen before its descendant was marked is in links: push marks
	// up until a pass changes nothing. Resolved links drop out each pass.
	for in.changed && len(in.links) > 0 {
		in.changed = false
		n := 0
		for _, l := range in.links {
			if _, ok := in.batch[l.child]; ok {
				in.batch[l.child] = true
				in.mark(l.parent)
			} else {
				in.links[n] = l
				n++
			}
		}
		in.links = in.links[:n]
	}
	for i := range in.found {
		p := &in.found[i]
		switch _, marked := in.batch[p.key]; {
		case marked:
			in.decide(p, miss)
		case in.wait == 0:
			in.decide(p, hit)
		default:
			in.park(p, now)
		}
	}
	for k, seen := range in.batch {
		if seen {
			continue
		}
		// Not in this batch: an ancestor still to come, or a parked lookup.
		in.frontier.Put(k, now)
	}
	for _, k := range in.resent {
		// A re-send regrouped upstream may bring the backend span the
		// first copy lacked; the first copy may still be held.
		if _, marked := in.batch[k]; marked {
			in.frontier.Put(k, now)
		}
	}
	clear(in.batch)
	clear(in.found)
	in.found, in.links, in.resent = in.found[:0], in.links[:0], in.resent[:0]
	in.changed = false
	in.lastMarked = 0
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
