package cachemetrics // import "github.com/otelcol-flipt/otelcol-flipt/processor/cachemetrics"

// Lookups without a backend descendant yet wait here for inference.wait, so
// a batch split upstream cannot turn a miss into a hit.

func (in *inferrer) park(p *pendingLookup, now int64) {
	if in.pending.Len() >= in.maxPending {
		in.decideFront(now) // bounded: the oldest is decided early
		in.early++
	}
	p.deadline = now + in.wait
	in.pending.Push(*p)
}

// expirePending decides parked lookups whose wait is over.
func (in *inferrer) expirePending(now int64) {
	for in.pending.Len() > 0 && in.pending.Front().deadline <= now {
		in.decideFront(now)
	}
}

// decideFront takes the oldest parked lookup: a miss if the frontier holds a
// mark for it as of its deadline (or now, if decided early), else a hit.
func (in *inferrer) decideFront(now int64) {
	p := in.pending.Front()
	if in.frontier.Has(p.key, min(now, p.deadline)) {
		in.decide(p, miss)
	} else {
		in.decide(p, hit)
	}
	in.pending.Pop()
}
