package merge

import (
	"encoding/binary"
	"hash/maphash"
)

// Key identifies an event: 128 bits of a keyed hash of its canonical
// encoding.
//
// The hash is the runtime's (hash/maphash), keyed by two seeds drawn at
// random when the process starts, not SHA-256: the table lives only in
// memory, so a key never has to mean the same in another process, and
// maphash costs a fraction of SHA-256 per line (BenchmarkKey). With 128
// bits two different events share a key by accident with a probability
// near 2^-128 per pair. A sender who wanted to suppress an event by
// sending a colliding one first would have to find a collision of a hash
// whose seeds it cannot see and whose output never leaves the process.
type Key [16]byte

// Hasher makes keys. Its seeds are fixed for its lifetime, so the same
// bytes always give the same key; it is safe for concurrent use.
type Hasher struct{ a, b maphash.Seed }

// NewHasher returns a hasher with fresh random seeds.
func NewHasher() Hasher { return Hasher{a: maphash.MakeSeed(), b: maphash.MakeSeed()} }

// Key is the key of the event whose canonical encoding is line.
func (h Hasher) Key(line []byte) Key {
	var k Key
	binary.LittleEndian.PutUint64(k[:8], maphash.Bytes(h.a, line))
	binary.LittleEndian.PutUint64(k[8:], maphash.Bytes(h.b, line))
	return k
}
