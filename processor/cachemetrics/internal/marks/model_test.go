package marks

import (
	"math/rand/v2"
	"testing"
)

// model is the table as it was first written, a Go map and a queue: the
// reference the open-addressing table must agree with, call for call.
type model struct {
	m         map[uint64]int64
	q         []uint64
	max       int
	ttl       int64
	evictions uint64
}

func (t *model) Has(k uint64, at int64) bool {
	exp, ok := t.m[k]
	return ok && exp > at
}

func (t *model) Put(k uint64, now int64) {
	if _, ok := t.m[k]; !ok {
		t.insert(k, now)
	}
}

func (t *model) Add(k uint64, now int64) bool {
	if exp, ok := t.m[k]; ok {
		if exp > now {
			return false
		}
		t.Expire(now)
		if _, ok := t.m[k]; ok {
			return true
		}
	}
	t.insert(k, now)
	return true
}

func (t *model) insert(k uint64, now int64) {
	if len(t.m) >= t.max {
		t.pop()
		t.evictions++
	}
	t.m[k] = now + t.ttl
	t.q = append(t.q, k)
}

func (t *model) Expire(now int64) {
	for len(t.q) > 0 && t.m[t.q[0]] <= now {
		t.pop()
	}
}

func (t *model) pop() {
	delete(t.m, t.q[0])
	t.q = t.q[1:]
}

// Random calls on both, with keys from a small set (many repeats) or a large
// one, keys that share their low bits, time mostly going forward and now
// and then back, and tables small enough to be full most of the time.
func TestAgreesWithMapModel(t *testing.T) {
	for seed := range uint64(30) {
		r := rand.New(rand.NewPCG(seed, 3))
		maxEntries := 1 + r.IntN(300)
		ttl := int64(1 + r.IntN(200))
		tb := New[uint64](maxEntries, ttl)
		ref := &model{m: map[uint64]int64{}, max: maxEntries, ttl: ttl}
		now := int64(0)
		for step := range 20_000 {
			switch r.IntN(20) {
			case 0:
				now -= int64(r.IntN(50)) // the clock went back
			default:
				now += int64(r.IntN(3))
			}
			var k uint64
			switch r.IntN(3) {
			case 0:
				k = r.Uint64N(64)
			case 1:
				k = r.Uint64N(1024) << 40 // same low 40 bits
			default:
				k = r.Uint64()
			}
			switch op := r.IntN(10); {
			case op < 4:
				if got, want := tb.Add(k, now), ref.Add(k, now); got != want {
					t.Fatalf("seed %d step %d: Add(%x, %d) = %v, want %v", seed, step, k, now, got, want)
				}
			case op < 6:
				tb.Put(k, now)
				ref.Put(k, now)
			case op < 9:
				if got, want := tb.Has(k, now), ref.Has(k, now); got != want {
					t.Fatalf("seed %d step %d: Has(%x, %d) = %v, want %v", seed, step, k, now, got, want)
				}
			default:
				tb.Expire(now)
				ref.Expire(now)
			}
			if tb.Len() != len(ref.m) || tb.Evictions() != ref.evictions {
				t.Fatalf("seed %d step %d: len %d evictions %d, want %d and %d",
					seed, step, tb.Len(), tb.Evictions(), len(ref.m), ref.evictions)
			}
		}
		// Every key the model holds is found, with the same expiry.
		for k, exp := range ref.m {
			if !tb.Has(k, exp-1) || tb.Has(k, exp) {
				t.Fatalf("seed %d: key %x should be live until %d", seed, k, exp)
			}
		}
	}
}

// inverse is the multiplicative inverse of odd a modulo 2^64 (Newton).
func inverse(a uint64) uint64 {
	x := a
	for range 6 {
		x *= 2 - a*x
	}
	return x
}

// keyWithMix is the key whose mixed value under seed is h: the finalizer
// run backwards.
func keyWithMix(h, seed uint64) uint64 {
	h ^= h >> 33
	h *= inverse(0xc4ceb9fe1a85ec53)
	h ^= h >> 33
	h *= inverse(0xff51afd7ed558ccd)
	h ^= h >> 33
	return h ^ seed
}

// Keys that share their tag (so their home too) and differ only in the
// half of the mix the index does not keep: every probe meets tag matches
// that are other keys, and every removal shifts entries of one long run.
func TestSameTagKeysAgreeWithModel(t *testing.T) {
	tb := New[uint64](40, 100)
	var keys []uint64
	for i := range uint64(64) {
		k := keyWithMix(0xabcdef12<<32|uint64(uint32(i*0x9e3779b9)), tb.idx.seed)
		keys = append(keys, k)
	}
	first := tb.idx.tag(keys[0])
	for _, k := range keys {
		if tb.idx.tag(k) != first {
			t.Fatal("the keys must share their tag")
		}
	}
	ref := &model{m: map[uint64]int64{}, max: 40, ttl: 100}
	r := rand.New(rand.NewPCG(10, 11))
	now := int64(0)
	for step := range 20_000 {
		now += int64(r.IntN(3))
		k := keys[r.IntN(len(keys))]
		switch r.IntN(3) {
		case 0:
			if got, want := tb.Add(k, now), ref.Add(k, now); got != want {
				t.Fatalf("step %d: Add = %v, want %v", step, got, want)
			}
		case 1:
			if got, want := tb.Has(k, now), ref.Has(k, now); got != want {
				t.Fatalf("step %d: Has = %v, want %v", step, got, want)
			}
		default:
			tb.Expire(now)
			ref.Expire(now)
		}
		if tb.Len() != len(ref.m) {
			t.Fatalf("step %d: len %d, want %d", step, tb.Len(), len(ref.m))
		}
	}
}
