package fliptaudit

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"sync"
)

// signatureHeader carries Flipt's webhook signature: lowercase hex of
// HMAC-SHA256(signing_secret, exact body), no prefix, nothing else signed.
const signatureHeader = "X-Flipt-Webhook-Signature"

// signer checks signatures under one secret. Its keyed HMACs are reused
// (Reset restores the keyed state), as making one per request costs more
// allocations than hashing a Flipt event.
type signer struct {
	pool sync.Pool // of *keyedMAC
}

// keyedMAC is a keyed HMAC with room for its sum: a sum written into the
// stack through the hash.Hash interface would escape, an allocation per
// request.
type keyedMAC struct {
	mac hash.Hash
	sum [sha256.Size]byte
}

func newSigner(secret []byte) *signer {
	key := append([]byte(nil), secret...)
	return &signer{pool: sync.Pool{New: func() any { return &keyedMAC{mac: hmac.New(sha256.New, key)} }}}
}

// valid reports whether sig is the signature of body, comparing in
// constant time.
func (s *signer) valid(body []byte, sig string) bool {
	var got [sha256.Size]byte
	if len(sig) != hex.EncodedLen(sha256.Size) {
		return false
	}
	if !decodeHex(got[:], sig) {
		return false
	}
	k := s.pool.Get().(*keyedMAC)
	k.mac.Reset()
	k.mac.Write(body)
	ok := hmac.Equal(got[:], k.mac.Sum(k.sum[:0]))
	s.pool.Put(k)
	return ok
}

// decodeHex decodes the hex of sig into dst (len(sig) is 2*len(dst)),
// reading the string in place: []byte(sig) would be a copy per request.
func decodeHex(dst []byte, sig string) bool {
	for i := range dst {
		hi, ok1 := fromHex(sig[2*i])
		lo, ok2 := fromHex(sig[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

func fromHex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// validSignature reports whether sig is the signature of body under secret,
// comparing in constant time.
func validSignature(secret []byte, body []byte, sig string) bool {
	return newSigner(secret).valid(body, sig)
}
