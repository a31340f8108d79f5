package evaluationmetrics // import "github.com/otelcol-flipt/otelcol-flipt/connector/evaluationmetrics"

import (
	"encoding/binary"
	"math/bits"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

// dedup remembers the spans that produced a count, so an export refused
// further down the pipeline (the audit file failing, say) and re-sent by
// Flipt is not counted again. The memory is the process's: after a restart
// a re-sent export counts again.
//
// It is a set-associative table: a span's fingerprint picks one bucket of 8
// slots (one cache line), where it is looked up and stored. A slot holds a
// 40-bit tag of the fingerprint and a 24-bit expiry in ticks of 2^26 ns
// (67 ms). A bucket is a queue: a new entry goes in front and pushes the
// oldest out of the last slot, which has expired unless the bucket is full
// (then it goes early, counted). One cache line per span and no allocation
// after start: a map with a deletion per insertion costs several misses.
type dedup struct {
	buckets []bucket
	mask    uint64
	ttl     uint32 // window in ticks
	evicted uint64
	sink    uint64 // keeps prefetch's loads from being optimised away
}

type bucket [8]uint64

const (
	tickShift = 26
	timeBits  = 24
	timeMask  = 1<<timeBits - 1
)

func newDedup(cfg Dedup) *dedup {
	if cfg.Window <= 0 {
		return nil
	}
	// Four entries per bucket on average at max_entries: a bucket
	// overflows early rarely (Poisson tail beyond 8).
	n := 1 << bits.Len(uint(max(cfg.MaxEntries/4, 1)))
	ttl := uint32(int64(cfg.Window)>>tickShift) + 1
	return &dedup{buckets: make([]bucket, n), mask: uint64(n - 1), ttl: ttl}
}

func fingerprint(s ptrace.Span) uint64 {
	tid, sid := s.TraceID(), s.SpanID()
	h := binary.LittleEndian.Uint64(tid[:8])*0x9e3779b97f4a7c15 ^ binary.LittleEndian.Uint64(tid[8:])
	h = (h ^ binary.LittleEndian.Uint64(sid[:])) * 0xbf58476d1ce4e5b9
	return h ^ h>>29
}

// first records the span and reports whether it is new within the window.
// A span without IDs cannot be told from another, so it always counts.
func (d *dedup) first(s ptrace.Span, now int64) bool {
	if d == nil {
		return true
	}
	if s.TraceID().IsEmpty() || s.SpanID().IsEmpty() {
		return true
	}
	fp := fingerprint(s)
	tag := fp &^ timeMask
	if tag == 0 {
		tag = 1 << timeBits // 0 marks an empty slot
	}
	b := &d.buckets[fp&d.mask] // low bits pick the bucket, high bits are the tag
	t := uint32(now>>tickShift) & timeMask
	// The tags first, without a branch: a fresh span, the common case,
	// matches none, and the expiry is worked out only for a match.
	if matchesTag(b, tag) {
		for _, v := range b {
			if v&^timeMask == tag && remaining(v, t) > 0 {
				return false
			}
		}
	}
	// Slots are kept in the order they were stored, newest first. Every
	// entry lives as long, so the last slot expires first: if it is still
	// live, the bucket is full and its oldest entry goes early.
	if v := b[7]; v != 0 && remaining(v, t) > 0 {
		d.evicted++
	}
	b[7], b[6], b[5], b[4], b[3], b[2], b[1] = b[6], b[5], b[4], b[3], b[2], b[1], b[0]
	b[0] = tag | uint64((t+d.ttl)&timeMask)
	return true
}

// matchesTag reports whether a slot of b holds tag: a slot's bits above
// the expiry are zero exactly when it does, and min compiles to
// conditional moves.
func matchesTag(b *bucket, tag uint64) bool {
	return min((b[0]^tag)>>timeBits, (b[1]^tag)>>timeBits, (b[2]^tag)>>timeBits, (b[3]^tag)>>timeBits,
		(b[4]^tag)>>timeBits, (b[5]^tag)>>timeBits, (b[6]^tag)>>timeBits, (b[7]^tag)>>timeBits) == 0
}

// prefetch loads the bucket of every span that may count before the spans
// are examined.
// The loads are independent, so the processor overlaps their cache misses
// (the table is megabytes and fresh spans land anywhere in it); the lookups
// that follow then hit the cache instead of waiting on each miss in turn.
func (d *dedup) prefetch(spans ptrace.SpanSlice) {
	if d == nil {
		return
	}
	var x uint64
	for i := range spans.Len() {
		if s := spans.At(i); mayCount(s) {
			x += d.buckets[fingerprint(s)&d.mask][0]
		}
	}
	d.sink += x
}

// remaining is the slot's time left in ticks, on a wrapping 24-bit clock.
func remaining(v uint64, now uint32) int32 {
	return int32(((uint32(v)&timeMask)-now)<<(32-timeBits)) >> (32 - timeBits)
}

// expire is a no-op: expired slots are reused in place.
func (d *dedup) expire(int64) {}
