package fliptaudit

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
)

func hmacSHA256(secret, body []byte) []byte {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return mac.Sum(nil)
}

// Flipt's own signatures verify, for every captured request.
func TestValidSignatureOnCaptures(t *testing.T) {
	reqs := append(fliptcapture.WebhookRequests(t, false), fliptcapture.WebhookRequests(t, true)...)
	for _, r := range reqs {
		if !validSignature([]byte(fliptcapture.Secret), r.Body, r.Header(signatureHeader)) {
			t.Errorf("request %d: Flipt's signature does not verify", r.Seq)
		}
		if validSignature([]byte("other"), r.Body, r.Header(signatureHeader)) {
			t.Errorf("request %d: verifies under another secret", r.Seq)
		}
	}
}

// decodeHex reads a signature as encoding/hex does: either case, and
// anything but hex digits refused.
func TestDecodeHexAsEncodingHex(t *testing.T) {
	for _, in := range []string{
		"00ff10ab", "00FF10AB", "aBcD0123", "0g000000", "000000 0", "0000000\xff", "-1000000", "zz000000", "gggggggg",
	} {
		var got, want [4]byte
		_, err := hex.Decode(want[:], []byte(in))
		ok := len(in) == 8 && decodeHex(got[:], in)
		if ok != (err == nil) || ok && !bytes.Equal(got[:], want[:]) {
			t.Errorf("%q: decodeHex %x %v, encoding/hex %x %v", in, got, ok, want, err)
		}
	}
}

// A reused signer checks a captured request's signature, right or wrong,
// without allocating: the webhook checks one per request.
func TestSignerReusedAllocatesNothing(t *testing.T) {
	r := fliptcapture.WebhookRequests(t, false)[0]
	s := newSigner([]byte(fliptcapture.Secret))
	sig := r.Header(signatureHeader)
	wrong := []byte(sig)
	wrong[0] ^= 1 // another hex digit
	if !s.valid(r.Body, sig) || s.valid(r.Body, string(wrong)) {
		t.Fatal("signer disagrees with Flipt's signature")
	}
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	if n := testing.AllocsPerRun(100, func() { s.valid(r.Body, sig) }); n != 0 {
		t.Errorf("valid allocates %v times per call", n)
	}
}
