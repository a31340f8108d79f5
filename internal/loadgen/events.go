// Package loadgen produces Flipt-shaped traffic for otelcol-flipt: signed
// webhook events (one per POST, like Flipt, or NDJSON batches) and OTLP
// traces carrying audit span events and cache-lookup spans. Every event has
// a unique key "lg-<run>-<seq>" so loss and duplicates can be counted at
// the far end (see Verify).
package loadgen

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader is the header in which Flipt sends the body's HMAC.
const SignatureHeader = "X-Flipt-Webhook-Signature"

// Sign returns Flipt's signature of body: lowercase hex HMAC-SHA256.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// EventKey is the unique key of event seq of a run.
func EventKey(run string, seq int) string {
	return "lg-" + run + "-" + strconv.Itoa(seq)
}

// WebhookEvent returns the webhook body Flipt v1.61 sends for a flag
// creation, with key EventKey(run, seq). scale > 1 grows the description to
// scale times the base event's size, to measure how cost grows with payload.
func WebhookEvent(run string, seq, scale int, ts time.Time) []byte {
	key := EventKey(run, seq)
	desc := "load \u0026 test"
	if scale > 1 {
		desc += strings.Repeat("x", (scale-1)*300)
	}
	return fmt.Appendf(nil, `{"version":"0.2","type":"flag","action":"created","metadata":{"actor":{"authentication":"token","ip":"127.0.0.1"}},`+
		`"payload":{"description":%q,"enabled":true,"key":%q,"name":"Load flag %d","namespace_key":"default"},"timestamp":%q,"status":"success"}`,
		desc, key, seq, ts.Format(time.RFC3339))
}

// KeysIn returns the event keys of run found in data (an audit file or any
// text), in order of appearance.
func KeysIn(data []byte, run string) []string {
	prefix := `"lg-` + run + `-`
	var keys []string
	s := string(data)
	for {
		i := strings.Index(s, prefix)
		if i < 0 {
			return keys
		}
		s = s[i+1:]
		j := strings.IndexByte(s, '"')
		if j < 0 {
			return keys
		}
		keys = append(keys, s[:j])
		s = s[j:]
	}
}
