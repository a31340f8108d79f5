package fliptaudit

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/otelcol-flipt/otelcol-flipt/internal/auditevent"
	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
)

const (
	metricRefused    = "otelcol_flipt_audit_requests_refused"
	metricReceived   = "otelcol_flipt_audit_events_received"
	metricDuplicates = "otelcol_flipt_audit_duplicates_suppressed"
)

func withSecret(w *WebhookConfig) { w.SigningSecret = fliptcapture.Secret }

// postCaptured replays one captured Flipt request with its own headers.
func postCaptured(t *testing.T, url string, r fliptcapture.WebhookRequest) response {
	t.Helper()
	return post(t, url, r.Header("Content-Type"), r.Body,
		signatureHeader, r.Header(signatureHeader), "User-Agent", r.Header("User-Agent"))
}

// Every request a real Flipt sent is accepted with its real signature, and
// each record encodes to the matching line of Flipt's own audit.log.
func TestWebhookCapturedRequests(t *testing.T) {
	sink := new(consumertest.LogsSink)
	rcv := startReceiver(t, sink, withSecret)
	reqs := fliptcapture.WebhookRequests(t, false)
	for _, r := range reqs {
		if resp := postCaptured(t, rcv.url, r); resp.status != http.StatusOK {
			t.Fatalf("request %d: %d %s", r.Seq, resp.status, resp.body)
		}
	}
	got := records(sink)
	if len(got) != len(reqs) {
		t.Fatalf("%d records for %d requests", len(got), len(reqs))
	}
	// audit.log holds these 51 events in order, plus the 2 of the retry capture.
	lines := fliptcapture.Lines(t, "audit.log")
	next := 0
	for i, lr := range got {
		line := encode(t, lr, auditevent.FormatJSON)
		for next < len(lines) && string(lines[next]) != line {
			next++
		}
		if next == len(lines) {
			t.Fatalf("record %d is no later line of audit.log: %s", i, line)
		}
		if webhook := encode(t, lr, auditevent.FormatWebhook); webhook != string(reqs[i].Body) {
			t.Errorf("record %d: webhook bytes\n got %s\nwant %s", i, webhook, reqs[i].Body)
		}
		if v, _ := lr.Attributes().Get(auditevent.AttrSource); v.Str() != auditevent.SourceWebhook {
			t.Errorf("record %d: source %q", i, v.Str())
		}
		if lr.EventName() != auditevent.EventName || lr.Timestamp() == 0 || lr.ObservedTimestamp() == 0 {
			t.Errorf("record %d: event %q, timestamps %v %v", i, lr.EventName(), lr.Timestamp(), lr.ObservedTimestamp())
		}
	}
	if n := counter(t, rcv.tel, metricReceived, "source", "webhook"); n != int64(len(reqs)) {
		t.Errorf("events_received{source=webhook} = %d", n)
	}
	if n := counter(t, rcv.tel, "otelcol_receiver_accepted_log_records", "", ""); n != int64(len(reqs)) {
		t.Errorf("receiver_accepted_log_records = %d", n)
	}
	if n := counter(t, rcv.tel, metricRefused, "", ""); n != 0 {
		t.Errorf("requests_refused = %d", n)
	}
}

func TestWebhookSignature(t *testing.T) {
	sink := new(consumertest.LogsSink)
	rcv := startReceiver(t, sink, withSecret)
	r := fliptcapture.WebhookRequests(t, false)[0]
	sig := r.Header(signatureHeader)
	for name, headers := range map[string][]string{
		"missing":       nil,
		"wrong":         {signatureHeader, strings.Repeat("0", len(sig))},
		"not hex":       {signatureHeader, "sha256=" + sig},
		"truncated":     {signatureHeader, sig[:len(sig)-2]},
		"other body":    {signatureHeader, fliptcapture.WebhookRequests(t, false)[1].Header(signatureHeader)},
		"other secret":  {signatureHeader, fmt.Sprintf("%x", hmacSHA256([]byte("S3CR3T"), r.Body))},
		"empty":         {signatureHeader, ""},
		"body modified": {signatureHeader, sig},
	} {
		body := r.Body
		if name == "body modified" {
			body = append(bytes.Clone(body), ' ')
		}
		resp := post(t, rcv.url, "application/json", body, headers...)
		if resp.status != http.StatusUnauthorized {
			t.Errorf("%s: %d %s", name, resp.status, resp.body)
		}
		if strings.Contains(resp.body, fliptcapture.Secret) {
			t.Errorf("%s: answer reveals the secret", name)
		}
	}
	if n := counter(t, rcv.tel, metricRefused, "reason", reasonSignature); n != 8 {
		t.Errorf("requests_refused{reason=signature} = %d, want 8", n)
	}
	if sink.LogRecordCount() != 0 {
		t.Fatal("an unsigned request went through")
	}
	// Uppercase hex is the same MAC.
	if resp := post(t, rcv.url, "application/json", r.Body, signatureHeader, strings.ToUpper(sig)); resp.status != http.StatusOK {
		t.Errorf("uppercase signature: %d %s", resp.status, resp.body)
	}
}

// Without a secret, a request without signature is accepted.
func TestWebhookNoSecret(t *testing.T) {
	sink := new(consumertest.LogsSink)
	rcv := startReceiver(t, sink, nil)
	r := fliptcapture.WebhookRequests(t, false)[0]
	if resp := post(t, rcv.url, "application/json", r.Body); resp.status != http.StatusOK {
		t.Fatalf("%d %s", resp.status, resp.body)
	}
	if sink.LogRecordCount() != 1 {
		t.Fatal("no record")
	}
}

func TestWebhookGzip(t *testing.T) {
	sink := new(consumertest.LogsSink)
	rcv := startReceiver(t, sink, withSecret)
	r := fliptcapture.WebhookRequests(t, false)[3]
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	_, _ = zw.Write(r.Body)
	_ = zw.Close()
	// The signature covers the body as Flipt wrote it, before compression.
	resp := post(t, rcv.url, "application/json", zipped.Bytes(), signatureHeader, r.Header(signatureHeader), "Content-Encoding", "gzip")
	if resp.status != http.StatusOK {
		t.Fatalf("%d %s", resp.status, resp.body)
	}
	got := records(sink)
	if len(got) != 1 || encode(t, got[0], auditevent.FormatWebhook) != string(r.Body) {
		t.Fatalf("records %d", len(got))
	}
	// A body that claims gzip but is not is malformed.
	resp = post(t, rcv.url, "application/json", r.Body, signatureHeader, r.Header(signatureHeader), "Content-Encoding", "gzip")
	if resp.status != http.StatusBadRequest {
		t.Fatalf("bad gzip: %d %s", resp.status, resp.body)
	}
}

// The status codes are the contract with Flipt's retrying client.
func TestWebhookStatusCodes(t *testing.T) {
	event := fliptcapture.WebhookRequests(t, false)[0].Body
	event2 := fliptcapture.WebhookRequests(t, false)[1].Body
	memErr := errors.New("data refused due to high memory usage")
	tests := []struct {
		name        string
		method      string
		path        string
		contentType string
		body        []byte
		next        consumer.Logs
		maxBody     int64
		want        int
		reason      string // requests_refused reason, "" for none
		records     int
		header      [2]string // an expected answer header
		bodyHas     string
	}{
		{name: "one event", body: event, want: 200, records: 1},
		{name: "charset", contentType: "application/json; charset=utf-8", body: event, want: 200, records: 1},
		{name: "array", body: []byte("[" + string(event) + ",\n" + string(event2) + "]"), want: 200, records: 2},
		{name: "ndjson", contentType: "application/x-ndjson", body: []byte(string(event) + "\n" + string(event2) + "\n"), want: 200, records: 2},
		{name: "GET", method: http.MethodGet, want: 405, reason: reasonMethod, header: [2]string{"Allow", "POST"}},
		{name: "PUT", method: http.MethodPut, body: event, want: 405, reason: reasonMethod, header: [2]string{"Allow", "POST"}},
		{name: "text/plain", contentType: "text/plain", body: event, want: 415, reason: reasonContentType},
		{name: "no content type", contentType: "-", body: event, want: 415, reason: reasonContentType},
		{name: "malformed", body: []byte(`{"version":`), want: 400, reason: reasonMalformed, bodyHas: "invalid JSON"},
		{name: "empty", body: nil, want: 400, reason: reasonMalformed, bodyHas: "empty body"},
		{name: "not an event", body: []byte(`{"hello":"world"}`), want: 400, reason: reasonNotEvent, bodyHas: "not a Flipt audit event"},
		{name: "bad array element", body: []byte("[" + string(event) + `,{"version":"0.2"}]`), want: 400, reason: reasonNotEvent, bodyHas: "event 1:"},
		{name: "bad ndjson line", contentType: "application/x-ndjson", body: []byte(string(event) + "\n{oops\n"), want: 400, reason: reasonMalformed, bodyHas: "event 1:"},
		{name: "too large", body: event, maxBody: 100, want: 413, reason: reasonTooLarge},
		{name: "retryable downstream", body: event, next: consumertest.NewErr(errors.New("queue is full")), want: 503, reason: reasonDownstream, header: [2]string{"Retry-After", "1"}},
		{name: "permanent downstream", body: event, next: consumertest.NewErr(consumererror.NewPermanent(errors.New("bad data"))), want: 400, reason: reasonDownstream, bodyHas: "retrying will not help"},
		{name: "memory limiter", body: event, next: consumertest.NewErr(fmt.Errorf("wrapped: %w", memErr)), want: 429, reason: reasonDownstream, header: [2]string{"Retry-After", "5"}},
		{name: "grpc resource exhausted", body: event, next: consumertest.NewErr(status.Error(codes.ResourceExhausted, "slow down")), want: 429, reason: reasonDownstream},
		{name: "http 429 from exporter", body: event, next: consumertest.NewErr(consumererror.NewOTLPHTTPError(errors.New("throttled"), 429)), want: 429, reason: reasonDownstream},
		{name: "health", method: http.MethodGet, path: "/flipt/audit/health", want: 200},
		{name: "health POST", path: "/flipt/audit/health", body: event, want: 405, reason: reasonMethod, header: [2]string{"Allow", "GET, HEAD"}},
		{name: "unknown path", path: "/other", body: event, want: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := new(consumertest.LogsSink)
			var next consumer.Logs = sink
			if tt.next != nil {
				next = tt.next
			}
			rcv := startReceiver(t, next, func(w *WebhookConfig) {
				if tt.maxBody > 0 {
					w.MaxRequestBodySize = tt.maxBody
				}
			})
			url := rcv.url
			if tt.path != "" {
				url = strings.TrimSuffix(url, "/flipt/audit") + tt.path
			}
			method := tt.method
			if method == "" {
				method = http.MethodPost
			}
			req, err := http.NewRequest(method, url, bytes.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			switch tt.contentType {
			case "":
				req.Header.Set("Content-Type", "application/json")
			case "-":
			default:
				req.Header.Set("Content-Type", tt.contentType)
			}
			resp := do(t, req)
			if resp.status != tt.want {
				t.Fatalf("status %d, want %d: %s", resp.status, tt.want, resp.body)
			}
			if tt.header[0] != "" && resp.header.Get(tt.header[0]) != tt.header[1] {
				t.Errorf("%s: %q, want %q", tt.header[0], resp.header.Get(tt.header[0]), tt.header[1])
			}
			if !strings.Contains(resp.body, tt.bodyHas) {
				t.Errorf("answer %q does not say %q", resp.body, tt.bodyHas)
			}
			if tt.next != nil && strings.Contains(resp.body, "bad data") {
				t.Errorf("answer %q passes the pipeline's error on to the sender", resp.body)
			}
			if tt.want >= 400 && tt.want != 404 && strings.Count(strings.TrimSuffix(resp.body, "\n"), "\n") != 0 {
				t.Errorf("reason is not one line: %q", resp.body)
			}
			if got := sink.LogRecordCount(); got != tt.records {
				t.Errorf("%d records forwarded, want %d", got, tt.records)
			}
			if tt.reason != "" {
				if n := counter(t, rcv.tel, metricRefused, "reason", tt.reason); n != 1 {
					t.Errorf("requests_refused{reason=%s} = %d", tt.reason, n)
				}
			} else if n := counter(t, rcv.tel, metricRefused, "", ""); n != 0 {
				t.Errorf("requests_refused = %d", n)
			}
		})
	}
}

// flakyConsumer fails the first n calls with a retryable error.
type flakyConsumer struct {
	consumertest.LogsSink
	failures atomic.Int32
}

func (c *flakyConsumer) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	if c.failures.Add(-1) >= 0 {
		return errors.New("temporarily unavailable")
	}
	return c.LogsSink.ConsumeLogs(ctx, ld)
}

// Flipt's real retry capture: with dedup_window, an event whose first
// answer was lost is forwarded once; a body refused with 503 is not
// remembered, so its retry goes through.
func TestWebhookDedupWindow(t *testing.T) {
	retries := fliptcapture.WebhookRequests(t, true)
	if len(retries) != 8 {
		t.Fatalf("%d retry requests", len(retries))
	}
	next := &flakyConsumer{}
	next.failures.Store(1)
	rcv := startReceiver(t, next, func(w *WebhookConfig) {
		withSecret(w)
		w.DedupWindow = 3600e9
	})
	want := []int{503, 200, 200, 200, 200, 200, 200, 200}
	for i, r := range retries {
		if resp := postCaptured(t, rcv.url, r); resp.status != want[i] {
			t.Fatalf("attempt %d: %d, want %d (%s)", i+1, resp.status, want[i], resp.body)
		}
	}
	got := records(&next.LogsSink)
	if len(got) != 2 {
		t.Fatalf("%d records forwarded, want the 2 distinct events", len(got))
	}
	if encode(t, got[0], auditevent.FormatWebhook) == encode(t, got[1], auditevent.FormatWebhook) {
		t.Fatal("the same event forwarded twice")
	}
	if n := counter(t, rcv.tel, metricDuplicates, "", ""); n != 5 {
		t.Errorf("duplicates_suppressed = %d, want 5", n)
	}

	// Off by default: every attempt is forwarded.
	sink := new(consumertest.LogsSink)
	plain := startReceiver(t, sink, withSecret)
	for _, r := range retries {
		if resp := postCaptured(t, plain.url, r); resp.status != 200 {
			t.Fatalf("%d %s", resp.status, resp.body)
		}
	}
	if sink.LogRecordCount() != 8 {
		t.Fatalf("%d records without dedup", sink.LogRecordCount())
	}
}
