package fliptaudit

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/consumer/consumertest"

	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
)

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Content codings are case-insensitive and identity means none (RFC 9110
// 8.4.1): real gzip bodies under any spelling, and plain bodies marked
// identity, are accepted with the signature of the decoded body.
func TestContentEncodingIsCaseInsensitive(t *testing.T) {
	sink := new(consumertest.LogsSink)
	rcv := startReceiver(t, sink, withSecret)
	r := fliptcapture.WebhookRequests(t, false)[0]
	sig := r.Header(signatureHeader)
	for _, tt := range []struct {
		encoding string
		body     []byte
		want     int
	}{
		{"gzip", gzipped(t, r.Body), http.StatusOK},
		{"GZIP", gzipped(t, r.Body), http.StatusOK},
		{"Gzip", gzipped(t, r.Body), http.StatusOK},
		{" gzip ", gzipped(t, r.Body), http.StatusOK},
		{"identity", r.Body, http.StatusOK},
		{"IDENTITY", r.Body, http.StatusOK},
		{"identity, gzip", gzipped(t, r.Body), http.StatusOK},
		{"br", r.Body, http.StatusBadRequest},
		{"gzip", r.Body, http.StatusBadRequest}, // says gzip, is not
	} {
		resp := post(t, rcv.url, "application/json", tt.body, "Content-Encoding", tt.encoding, signatureHeader, sig)
		if resp.status != tt.want {
			t.Errorf("Content-Encoding %q: %d %q, want %d", tt.encoding, resp.status, resp.body, tt.want)
		}
	}
	if n := sink.LogRecordCount(); n != 7 {
		t.Errorf("%d records, want 7", n)
	}
}

// A refusal on a limit says which limit, and is counted as reason=limit:
// here the default max_depth, which a payload 10,240 levels deep exceeds.
func TestWebhookLimitRefusalNamesTheLimit(t *testing.T) {
	sink := new(consumertest.LogsSink)
	rcv := startReceiver(t, sink, nil)
	body := fliptcapture.WebhookRequests(t, false)[0].Body
	deep := bytes.Replace(body, []byte(`"payload":{`), []byte(`"payload":{"x":`+strings.Repeat("[", 10240)+strings.Repeat("]", 10240)+`,`), 1)
	resp := post(t, rcv.url, "application/json", deep)
	if resp.status != http.StatusBadRequest || !strings.Contains(resp.body, "event 0: nesting depth exceeds max_depth 10240") {
		t.Fatalf("too deep: %d %q", resp.status, resp.body)
	}
	if n := counter(t, rcv.tel, metricRefused, "reason", reasonLimit); n != 1 {
		t.Errorf("requests_refused{reason=limit} = %d", n)
	}
}
