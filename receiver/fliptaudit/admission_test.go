package fliptaudit

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/consumer/consumertest"

	"github.com/otelcol-flipt/otelcol-flipt/internal/auditevent"
	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
)

const metricInFlight = "otelcol_flipt_audit_webhook_in_flight_bytes"

// admissionReceiver starts a signed webhook with a 512 KiB body limit and
// a 1 MiB in-flight budget.
func admissionReceiver(t *testing.T, sink *consumertest.LogsSink, requests int) *testReceiver {
	return admissionReceiverWaiting(t, sink, requests, 0)
}

// admissionReceiverWaiting is admissionReceiver with admission_wait set to
// wait (0: refuse at once).
func admissionReceiverWaiting(t *testing.T, sink *consumertest.LogsSink, requests int, wait time.Duration) *testReceiver {
	return startReceiver(t, sink, func(w *WebhookConfig) {
		w.SigningSecret = fliptcapture.Secret
		w.MaxRequestBodySize = 512 << 10
		w.MaxInFlightBytes = 1 << 20
		w.MaxConcurrentRequests = requests
		w.AdmissionWait = wait
	})
}

// rawRequest opens a connection and sends a POST's head declaring
// contentLength (-1: chunked), then send bytes of its body, and leaves it
// open: a sender that stalls mid-body.
func rawRequest(t *testing.T, rawURL string, contentLength, send int, signature string) net.Conn {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	var head strings.Builder
	fmt.Fprintf(&head, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n", u.Path, u.Host)
	if contentLength >= 0 {
		fmt.Fprintf(&head, "Content-Length: %d\r\n", contentLength)
	} else {
		head.WriteString("Transfer-Encoding: chunked\r\n")
	}
	if signature != "" {
		fmt.Fprintf(&head, "%s: %s\r\n", signatureHeader, signature)
	}
	head.WriteString("\r\n")
	if _, err := conn.Write([]byte(head.String())); err != nil {
		t.Fatal(err)
	}
	if send > 0 {
		if _, err := conn.Write(make([]byte, send)); err != nil {
			t.Fatal(err)
		}
	}
	return conn
}

// stall opens two requests that declare 800 KiB in all, send most of it
// and stall, and waits until the webhook holds their bytes; close ends
// them.
func stall(t *testing.T, r *testReceiver) (close func()) {
	t.Helper()
	a := rawRequest(t, r.url, 500<<10, 450<<10, "bad")
	b := rawRequest(t, r.url, 300<<10, 250<<10, "bad")
	waitFor(t, "the stalled bodies reserved", func() bool { return counter(t, r.tel, metricInFlight, "", "") == 800<<10 })
	return func() { _, _ = a.Close(), b.Close() }
}

// answer reads the response on conn; the deadline only guards against a
// hang, it asserts nothing.
func answer(t *testing.T, conn net.Conn) response {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return response{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// A body that would take the in-flight bytes past max_in_flight_bytes is
// answered 503 + Retry-After before any of it is sent, while a sender
// stalls holding most of the budget; health and a signed event within
// what is left still succeed, and the budget comes back when the stalled
// sender goes.
func TestAdmissionRefusesBeforeReading(t *testing.T) {
	sink := new(consumertest.LogsSink)
	r := admissionReceiver(t, sink, 32)
	unstall := stall(t, r)

	// No byte of this body is sent: an answer proves it was not read.
	refused := answer(t, rawRequest(t, r.url, 300<<10, 0, "bad"))
	if refused.status != http.StatusServiceUnavailable || refused.header.Get("Retry-After") == "" ||
		!strings.Contains(refused.body, "max_in_flight_bytes 1048576") {
		t.Fatalf("over the budget: %d %v %q", refused.status, refused.header, refused.body)
	}
	legit := fliptcapture.WebhookRequests(t, false)[0]
	if resp := post(t, r.url, "application/json", legit.Body, signatureHeader, legit.Header(signatureHeader)); resp.status != http.StatusOK {
		t.Fatalf("signed event during the stall: %d %q", resp.status, resp.body)
	}
	if resp := do(t, mustRequest(t, http.MethodGet, strings.TrimSuffix(r.url, defaultPath)+defaultHealthPath)); resp.status != http.StatusOK {
		t.Fatalf("health during the stall: %d", resp.status)
	}
	if n := counter(t, r.tel, metricRefused, "reason", reasonAdmission); n != 1 {
		t.Errorf("requests_refused{reason=admission} = %d", n)
	}
	unstall()
	waitFor(t, "the budget released", func() bool { return counter(t, r.tel, metricInFlight, "", "") == 0 })
	if resp := post(t, r.url, "application/json", legit.Body, signatureHeader, legit.Header(signatureHeader)); resp.status != http.StatusOK {
		t.Fatalf("after the stall: %d %q", resp.status, resp.body)
	}
	if sink.LogRecordCount() != 2 {
		t.Errorf("%d records, want the 2 signed events", sink.LogRecordCount())
	}
}

// A chunked body is reserved as it grows and refused 503 + Retry-After
// the moment it outgrows what the budget leaves, without waiting for its
// end.
func TestAdmissionRefusesAChunkedBodyMidRead(t *testing.T) {
	r := admissionReceiver(t, new(consumertest.LogsSink), 32)
	stall(t, r)

	conn := rawRequest(t, r.url, -1, 0, "bad")
	// 224 KiB are left: the buffer's 64 KiB, 128 KiB, then 256 KiB do not
	// fit. Send 200 KiB in chunks and no end; the answer comes anyway.
	chunk := fmt.Sprintf("%x\r\n%s\r\n", 10<<10, strings.Repeat("0", 10<<10))
	if _, err := conn.Write([]byte(strings.Repeat(chunk, 20))); err != nil {
		t.Fatal(err)
	}
	resp := answer(t, conn)
	if resp.status != http.StatusServiceUnavailable || resp.header.Get("Retry-After") == "" || !strings.Contains(resp.body, "max_in_flight_bytes") {
		t.Fatalf("chunked body past the budget: %d %v %q", resp.status, resp.header, resp.body)
	}
	waitFor(t, "the chunked body's share released", func() bool { return counter(t, r.tel, metricInFlight, "", "") == 800<<10 })
}

// With max_concurrent_requests in progress, one more is answered 503 +
// Retry-After before its body is read.
func TestAdmissionRefusesPastMaxConcurrentRequests(t *testing.T) {
	r := admissionReceiver(t, new(consumertest.LogsSink), 1)
	rawRequest(t, r.url, 1000, 10, "bad")
	waitFor(t, "the first request admitted", func() bool { return counter(t, r.tel, metricInFlight, "", "") == 1000 })
	resp := answer(t, rawRequest(t, r.url, 1000, 0, "bad"))
	if resp.status != http.StatusServiceUnavailable || resp.header.Get("Retry-After") == "" || !strings.Contains(resp.body, "max_concurrent_requests 1") {
		t.Fatalf("second request: %d %v %q", resp.status, resp.header, resp.body)
	}
	if n := counter(t, r.tel, metricRefused, "reason", reasonBusy); n != 1 {
		t.Errorf("requests_refused{reason=busy} = %d", n)
	}
}

// What can be refused from the head alone is, before the body is sent:
// no signature when one is required (401), a declared length over
// max_request_body_size (413).
func TestAdmissionRefusesFromTheHead(t *testing.T) {
	r := admissionReceiver(t, new(consumertest.LogsSink), 32)
	if resp := answer(t, rawRequest(t, r.url, 900<<10, 0, "")); resp.status != http.StatusUnauthorized || !strings.Contains(resp.body, "missing "+signatureHeader) {
		t.Fatalf("unsigned: %d %q", resp.status, resp.body)
	}
	if resp := answer(t, rawRequest(t, r.url, 2<<20, 0, "bad")); resp.status != http.StatusRequestEntityTooLarge || !strings.Contains(resp.body, "max_request_body_size 524288") {
		t.Fatalf("declared over the limit: %d %q", resp.status, resp.body)
	}
	if n := counter(t, r.tel, metricInFlight, "", ""); n != 0 {
		t.Errorf("%d bytes in flight after refusals from the head", n)
	}
}

// The records a body would build are reserved before they are: a small
// body of many values is refused 503 while the budget is taken, and
// accepted when it comes alone, however its estimate compares with the
// budget.
func TestAdmissionReservesTheRecords(t *testing.T) {
	sink := new(consumertest.LogsSink)
	r := startReceiver(t, sink, func(w *WebhookConfig) {
		w.MaxRequestBodySize = 512 << 10
		w.MaxInFlightBytes = 1 << 20
	})
	// 60,000 values: about 5.8 MB once built, from a 120 KB body.
	body := []byte(`{"version":"0.2","type":"flag","action":"updated","payload":[` + strings.Repeat("0,", 59999) +
		`0],"timestamp":"2026-01-01T00:00:00Z"}`)
	unstall := stall(t, r)
	if resp := post(t, r.url, "application/json", body); resp.status != http.StatusServiceUnavailable || resp.header.Get("Retry-After") == "" {
		t.Fatalf("records over what is left: %d %q", resp.status, resp.body)
	}
	unstall()
	waitFor(t, "the budget released", func() bool { return counter(t, r.tel, metricInFlight, "", "") == 0 })
	if resp := post(t, r.url, "application/json", body); resp.status != http.StatusOK {
		t.Fatalf("alone: %d %q", resp.status, resp.body)
	}
	if sink.LogRecordCount() != 1 {
		t.Errorf("%d records", sink.LogRecordCount())
	}
}

// A body over max_elements is answered 413 naming the limit, and counted
// as a limit refusal.
func TestWebhookMaxElements(t *testing.T) {
	r := startReceiver(t, new(consumertest.LogsSink), nil)
	body := []byte(`{"version":"0.2","type":"flag","action":"updated","payload":[` +
		strings.Repeat("0,", auditevent.DefaultMaxElements) + `0],"timestamp":"2026-01-01T00:00:00Z"}`)
	resp := post(t, r.url, "application/json", body)
	if resp.status != http.StatusRequestEntityTooLarge || !strings.Contains(resp.body, fmt.Sprintf("JSON values exceed max_elements %d", auditevent.DefaultMaxElements)) {
		t.Fatalf("%d %q", resp.status, resp.body)
	}
	if n := counter(t, r.tel, metricRefused, "reason", reasonLimit); n != 1 {
		t.Errorf("requests_refused{reason=limit} = %d", n)
	}
}

// A request beyond max_concurrent_requests waits for a slot: when the
// request in progress ends, the waiting one is served, not refused.
func TestAdmissionWaitServesTheNextRequest(t *testing.T) {
	sink := new(consumertest.LogsSink)
	r := admissionReceiverWaiting(t, sink, 1, 15*time.Second)
	reqs := fliptcapture.WebhookRequests(t, false)
	body := reqs[0].Body
	first := rawRequest(t, r.url, len(body), 0, reqs[0].Header(signatureHeader))
	if _, err := first.Write(body[:10]); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the first request admitted", func() bool { return r.handler.admit.requests.Load() == 1 })
	second := signedRaw(t, r.url, reqs[1])
	waitFor(t, "the second request waiting", func() bool { return r.handler.admit.waiting.Load() == 1 })
	if _, err := first.Write(body[10:]); err != nil {
		t.Fatal(err)
	}
	if resp := answer(t, first); resp.status != http.StatusOK {
		t.Fatalf("first: %d %q", resp.status, resp.body)
	}
	if resp := answer(t, second); resp.status != http.StatusOK {
		t.Fatalf("second, after waiting: %d %q", resp.status, resp.body)
	}
	if n := counter(t, r.tel, metricRefused, "reason", reasonBusy); n != 0 {
		t.Errorf("requests_refused{reason=busy} = %d, want 0", n)
	}
	if got := sink.LogRecordCount(); got != 2 {
		t.Errorf("%d records forwarded, want 2", got)
	}
}

// A request that waited admission_wait without a slot is refused 503 +
// Retry-After, naming both settings; and no more requests wait than
// maxWaitersPerSlot per slot: one more is refused at once.
func TestAdmissionWaitEndsAndWaitersAreBounded(t *testing.T) {
	r := admissionReceiverWaiting(t, new(consumertest.LogsSink), 1, 4*time.Second)
	rawRequest(t, r.url, 1000, 10, "bad")
	waitFor(t, "the first request admitted", func() bool { return r.handler.admit.requests.Load() == 1 })
	var waiters []net.Conn
	for range maxWaitersPerSlot {
		waiters = append(waiters, rawRequest(t, r.url, 1000, 0, "bad"))
	}
	waitFor(t, "the waiters waiting", func() bool { return r.handler.admit.waiting.Load() == maxWaitersPerSlot })
	resp := answer(t, rawRequest(t, r.url, 1000, 0, "bad"))
	if resp.status != http.StatusServiceUnavailable || resp.header.Get("Retry-After") == "" ||
		!strings.Contains(resp.body, "max_concurrent_requests 1") || !strings.Contains(resp.body, "admission_wait") {
		t.Fatalf("past the waiters: %d %v %q", resp.status, resp.header, resp.body)
	}
	// The waiters themselves are answered when their wait ends.
	for i, w := range waiters {
		if resp := answer(t, w); resp.status != http.StatusServiceUnavailable || resp.header.Get("Retry-After") == "" {
			t.Fatalf("waiter %d after admission_wait: %d %q", i, resp.status, resp.body)
		}
	}
	if n := counter(t, r.tel, metricRefused, "reason", reasonBusy); n != maxWaitersPerSlot+1 {
		t.Errorf("requests_refused{reason=busy} = %d, want %d", n, maxWaitersPerSlot+1)
	}
}

// signedRaw sends a whole captured signed POST on a new connection.
func signedRaw(t *testing.T, rawURL string, req fliptcapture.WebhookRequest) net.Conn {
	t.Helper()
	conn := rawRequest(t, rawURL, len(req.Body), 0, req.Header(signatureHeader))
	if _, err := conn.Write(req.Body); err != nil {
		t.Fatal(err)
	}
	return conn
}
