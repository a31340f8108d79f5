package fliptaudit

import (
	"crypto/hmac"
	"crypto/sha256"
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
