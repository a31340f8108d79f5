package evaluationmetrics // import "github.com/otelcol-flipt/otelcol-flipt/connector/evaluationmetrics"

import (
	"encoding/binary"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

// dedup remembers the spans that produced a count, so an export refused
// further down the pipeline (the audit file failing, say) and re-sent by
// Flipt is not counted again. Entries leave in insertion order, when their
// window is over or, when the table is full, to make room. The memory is
// the process's: after a restart a re-sent export counts again.
type dedup struct {
	seen  map[uint64]int64 // fingerprint → expiry (unix nanos)
	ring  []uint64         // insertion order
	head  int              // oldest entry
	n     int
	ttl   int64
	evict uint64
}

func newDedup(cfg Dedup) *dedup {
	if cfg.Window <= 0 {
		return nil
	}
	return &dedup{seen: map[uint64]int64{}, ring: make([]uint64, cfg.MaxEntries), ttl: int64(cfg.Window)}
}

// first records the span and reports whether it is new within the window.
// A span without IDs cannot be told from another, so it always counts.
func (d *dedup) first(s ptrace.Span, now int64) bool {
	if d == nil {
		return true
	}
	tid, sid := s.TraceID(), s.SpanID()
	if tid.IsEmpty() || sid.IsEmpty() {
		return true
	}
	fp := binary.LittleEndian.Uint64(tid[:8]) ^ binary.LittleEndian.Uint64(tid[8:]) ^ binary.LittleEndian.Uint64(sid[:])*0x9e3779b97f4a7c15
	if exp, ok := d.seen[fp]; ok && exp > now {
		return false
	}
	if d.n == len(d.ring) {
		d.pop()
		d.evict++
	}
	d.ring[(d.head+d.n)%len(d.ring)] = fp
	d.n++
	d.seen[fp] = now + d.ttl
	return true
}

func (d *dedup) pop() {
	fp := d.ring[d.head]
	delete(d.seen, fp)
	d.head = (d.head + 1) % len(d.ring)
	d.n--
}

// expire forgets identities whose window is over.
func (d *dedup) expire(now int64) {
	if d == nil {
		return
	}
	for d.n > 0 {
		exp, ok := d.seen[d.ring[d.head]]
		if ok && exp > now {
			return
		}
		d.pop()
	}
}
