package fliptaudit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"
)

// treeBytesPerElement is what one JSON value costs once built into pdata
// (a pcommon.Value, its slot in a slice or map, its oneof wrapper), beside
// the bytes of its strings: measured at about 92 bytes on arrays of zeros
// and 90 on objects of small members (BenchmarkDecodeShapes in
// internal/auditevent), with a little room.
const treeBytesPerElement = 96

// readChunk is the first buffer of a body of unknown length, which then
// doubles.
const readChunk = 64 << 10

// maxWaitersPerSlot bounds the requests waiting for a slot: each holds
// only its connection, its parsed head and a parked goroutine (a few KB;
// its body is not read), so four per slot let a burst of four times
// max_concurrent_requests senders through at a small, bounded cost.
const maxWaitersPerSlot = 4

// errOverBudget refuses a request whose body, or the tree built from it,
// does not fit in what max_in_flight_bytes leaves.
var errOverBudget = errors.New("over max_in_flight_bytes")

// admission bounds the webhook's work in progress before any of it is
// done: how many requests run at once, and how many bytes their bodies
// and the records decoded from them hold. A request beyond
// max_concurrent_requests waits its turn for up to admission_wait; what
// does not fit is refused 503 + Retry-After, which Flipt retries, before
// its body is read.
type admission struct {
	maxRequests int64
	maxBytes    int64
	// wait is how long a request waits for a slot (admission_wait).
	wait time.Duration
	// slots holds the requests in progress; its waiters are served in
	// arrival order.
	slots    *semaphore.Weighted
	requests atomic.Int64 // in progress
	waiting  atomic.Int64 // waiting for a slot, at most maxWaitersPerSlot per slot
	bytes    atomic.Int64
	// changed reports a change of the bytes in flight, to telemetry.
	changed func(delta int64)
}

func newAdmission(maxRequests, maxBytes int64, wait time.Duration) *admission {
	return &admission{
		maxRequests: maxRequests, maxBytes: maxBytes, wait: wait,
		slots:   semaphore.NewWeighted(maxRequests),
		changed: func(int64) {},
	}
}

// enter takes a request slot, waiting for one while all are taken, up to
// the admission wait and while ctx lasts. It returns false when it got
// none. At most maxWaitersPerSlot × max_concurrent_requests wait at once;
// one more is refused at once.
func (a *admission) enter(ctx context.Context) bool {
	if a.slots.TryAcquire(1) {
		a.requests.Add(1)
		return true
	}
	if a.wait <= 0 {
		return false
	}
	if a.waiting.Add(1) > maxWaitersPerSlot*a.maxRequests {
		a.waiting.Add(-1)
		return false
	}
	defer a.waiting.Add(-1)
	ctx, cancel := context.WithTimeout(ctx, a.wait)
	defer cancel()
	if a.slots.Acquire(ctx, 1) != nil {
		return false
	}
	a.requests.Add(1)
	return true
}

func (a *admission) leave() {
	a.requests.Add(-1)
	a.slots.Release(1)
}

// reserve takes n bytes of the budget, or none if they do not fit.
func (a *admission) reserve(n int64) bool {
	for {
		cur := a.bytes.Load()
		if cur+n > a.maxBytes {
			return false
		}
		if a.bytes.CompareAndSwap(cur, cur+n) {
			a.changed(n)
			return true
		}
	}
}

func (a *admission) release(n int64) {
	if n != 0 {
		a.bytes.Add(-n)
		a.changed(-n)
	}
}

// ticket is one request's share of the budget.
type ticket struct {
	a    *admission
	held int64
	buf  *[]byte // the body's buffer, from bodyPool
}

func (t *ticket) reserve(n int64) bool {
	if !t.a.reserve(n) {
		return false
	}
	t.held += n
	return true
}

// reserveTree takes the budget for the records of a body of elements
// values: at most what is left of max_in_flight_bytes for the request, so
// that an event within the limits is accepted when it comes alone.
func (t *ticket) reserveTree(elements, bodyLen int) bool {
	need := int64(elements)*treeBytesPerElement + int64(bodyLen)
	return t.reserve(min(need, t.a.maxBytes-t.held))
}

// done gives back the budget and the body's buffer: the body must not be
// used after it.
func (t *ticket) done() {
	t.a.release(t.held)
	if t.buf != nil {
		bodyPool.Put(t.buf)
		t.buf = nil
	}
}

// pooledBody is the largest declared body read into a pooled buffer:
// Flipt's events are a few hundred bytes, a batch of 1,000 in NDJSON
// about 300 KiB.
const pooledBody = 1 << 20

// bodyPool holds buffers for bodies of a declared length. Nothing decoded
// from a body refers to it (every string is copied out), so the buffer of
// one request can serve the next.
var bodyPool = sync.Pool{New: func() any { return new([]byte) }}

// readBody reads r's body within max_request_body_size (maxBody) and the
// budget: a declared length is reserved, or refused, before a byte is
// read; a body of unknown length (chunked, or decompressed) is reserved as
// its buffer grows and refused when it outgrows the budget.
func (t *ticket) readBody(r *http.Request, maxBody int64) ([]byte, error) {
	if n := r.ContentLength; n >= 0 {
		if n > maxBody {
			return nil, &http.MaxBytesError{Limit: maxBody}
		}
		if !t.reserve(n) {
			return nil, errOverBudget
		}
		var body []byte
		if n <= pooledBody {
			t.buf = bodyPool.Get().(*[]byte)
			if int64(cap(*t.buf)) < n {
				*t.buf = make([]byte, n)
			}
			body = (*t.buf)[:n]
		} else {
			body = make([]byte, n)
		}
		if _, err := io.ReadFull(r.Body, body); err != nil {
			return nil, err
		}
		return body, nil
	}
	var body []byte
	for {
		if len(body) == cap(body) {
			if int64(cap(body)) == maxBody {
				return body, probeEnd(r.Body, maxBody)
			}
			// Old buffers stay reserved: they are garbage, not yet freed,
			// and all of them together are less than the last.
			grow := min(int64(max(readChunk, 2*cap(body))), maxBody) - int64(cap(body))
			if !t.reserve(grow) {
				return nil, errOverBudget
			}
			body = append(make([]byte, 0, int64(cap(body))+grow), body...)
		}
		n, err := r.Body.Read(body[len(body):cap(body)])
		body = body[:len(body)+n]
		if errors.Is(err, io.EOF) {
			return body, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// probeEnd reads what follows a body of exactly maxBody bytes: nothing,
// or it is over the limit.
func probeEnd(body io.Reader, maxBody int64) error {
	var one [1]byte
	for {
		n, err := body.Read(one[:])
		switch {
		case n > 0:
			return &http.MaxBytesError{Limit: maxBody}
		case errors.Is(err, io.EOF):
			return nil
		case err != nil:
			return err
		}
	}
}

// overBudgetMessage is the reason sent with a refusal for the budget.
func overBudgetMessage(maxBytes int64) string {
	return fmt.Sprintf("busy: the bodies in flight would exceed max_in_flight_bytes %d; retry later", maxBytes)
}
