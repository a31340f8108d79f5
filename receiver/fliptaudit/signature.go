package fliptaudit

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
)

// signatureHeader carries Flipt's webhook signature: lowercase hex of
// HMAC-SHA256(signing_secret, exact body), no prefix, nothing else signed.
const signatureHeader = "X-Flipt-Webhook-Signature"

// validSignature reports whether sig is the signature of body under secret,
// comparing in constant time.
func validSignature(secret []byte, body []byte, sig string) bool {
	got, err := hex.DecodeString(sig)
	if err != nil || len(got) != sha256.Size {
		return false
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}
