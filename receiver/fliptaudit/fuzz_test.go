package fliptaudit

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-flipt/otelcol-flipt/internal/auditevent"
	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
	"github.com/otelcol-flipt/otelcol-flipt/receiver/fliptaudit/internal/metadata"
)

// FuzzWebhookBody feeds arbitrary bodies to the webhook handler: it must
// answer 200 with every event forwarded or 400 with nothing forwarded and
// a one-line reason, and what it forwards must re-encode stably.
func FuzzWebhookBody(f *testing.F) {
	reqs := fliptcapture.WebhookRequests(f, false)
	for _, r := range reqs {
		f.Add(r.Body)
	}
	f.Add([]byte("[" + string(reqs[0].Body) + "," + string(reqs[1].Body) + "]"))
	f.Add([]byte(string(reqs[2].Body) + "\n" + string(reqs[3].Body) + "\n"))
	for _, l := range fliptcapture.Lines(f, "audit.log")[:5] {
		f.Add(l)
	}
	f.Add([]byte(`{"version":"0.1","type":"flag","action":"created","metadata":{"actor":{"io.flipt.auth.oidc.email":"a@b"}},"payload":{"n":1.5e300},"timestamp":"2023-09-13T13:05:18-04:00"}`))

	tb, err := metadata.NewTelemetryBuilder(componenttest.NewNopTelemetrySettings())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		sink := new(consumertest.LogsSink)
		h := newWebhookHandler(&WebhookConfig{Path: defaultPath, HealthPath: defaultHealthPath}, tb, sink.ConsumeLogs)
		req := httptest.NewRequest(http.MethodPost, defaultPath, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)

		switch rec.Code {
		case http.StatusOK:
			if sink.LogRecordCount() == 0 {
				t.Fatal("200 without records")
			}
			for _, ld := range sink.AllLogs() {
				checkStable(t, ld)
			}
		case http.StatusBadRequest:
			if sink.LogRecordCount() != 0 {
				t.Fatal("400 after forwarding records")
			}
			if msg := strings.TrimSuffix(rec.Body.String(), "\n"); msg == "" || strings.ContainsAny(msg, "\n\r") {
				t.Fatalf("reason is not one line: %q", rec.Body.String())
			}
		default:
			t.Fatalf("status %d: %s", rec.Code, rec.Body.String())
		}
	})
}

// checkStable re-decodes each record's webhook encoding and expects the
// same bytes again in every format.
func checkStable(t *testing.T, ld plog.Logs) {
	for _, rl := range ld.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				body, ok := auditevent.Body(lr)
				if !ok {
					t.Fatal("forwarded a record that is not an audit record")
				}
				for _, f := range []auditevent.Format{auditevent.FormatWebhook, auditevent.FormatJSON, auditevent.FormatConsole} {
					first := auditevent.Append(nil, body, f)
					again := plog.NewLogRecord()
					if err := auditevent.DecodeRecord(first, again, auditevent.SourceWebhook, 1); err != nil {
						t.Fatalf("%v encoding does not decode: %v\n%s", f, err, first)
					}
					b2, _ := auditevent.Body(again)
					if second := auditevent.Append(nil, b2, f); !bytes.Equal(first, second) {
						t.Fatalf("%v encoding is not stable:\n%s\n%s", f, first, second)
					}
				}
			}
		}
	}
}

// FuzzZipkinAnnotation feeds arbitrary annotation texts to the connector's
// Zipkin path: no panic, and one event gives at most one record or one
// skip; a record is stable under re-encoding.
func FuzzZipkinAnnotation(f *testing.F) {
	f.Add(`event: {"flipt.event.action":"deleted","flipt.event.metadata.actor":"{\"authentication\":\"token\"}","flipt.event.payload":"{\"key\":\"f\"}","flipt.event.timestamp":"2026-11-24T20:53:42Z","flipt.event.type":"flag","flipt.event.version":"0.2"}`)
	f.Add(`event: {"flipt.event.version":"0.2","flipt.event.payload":"[1,2"}`)
	f.Add(`event: {"other":1}`)
	tb, err := metadata.NewTelemetryBuilder(componenttest.NewNopTelemetrySettings())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, name string) {
		sink := new(consumertest.LogsSink)
		c := &tracesToLogs{next: sink, telemetry: tb, now: time.Now}
		td := ptrace.NewTraces()
		td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty().Events().AppendEmpty().SetName(name)
		ld, reasons := c.extract(td)
		skipped := 0
		for _, k := range reasons {
			skipped += k
		}
		if n := ld.LogRecordCount(); n+skipped > 1 {
			t.Fatalf("%d records and %d skipped from one event", n, skipped)
		}
		if ld.LogRecordCount() == 1 {
			checkStable(t, ld)
		}
	})
}

// FuzzWebhookAdmission sends arbitrary bodies, declared or chunked, to a
// webhook whose budget other requests partly hold: every answer is 200
// with records forwarded, or a refusal with none (503 with Retry-After);
// every byte reserved is released; and a body refused 503 for the budget
// is admitted once it comes alone, as max_in_flight_bytes >= twice
// max_request_body_size promises.
func FuzzWebhookAdmission(f *testing.F) {
	reqs := fliptcapture.WebhookRequests(f, false)
	f.Add(reqs[0].Body, false, uint16(1), uint16(0), uint16(0))
	f.Add(reqs[1].Body, true, uint16(1), uint16(0), uint16(1000))
	f.Add([]byte(`{"version":"0.2","type":"flag","action":"updated","payload":[0,0,0,0,0,0,0,0,0,0,0,0],"timestamp":"2026-01-01T00:00:00Z"}`), false, uint16(1), uint16(0), uint16(800))
	f.Add(bytes.Repeat([]byte(" "), 5000), true, uint16(2), uint16(1), uint16(2000))
	tb, err := metadata.NewTelemetryBuilder(componenttest.NewNopTelemetrySettings())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte, chunked bool, maxBodyKiB, extraKiB, held uint16) {
		maxBody := int64(maxBodyKiB%64+1) << 10
		budget := 2*maxBody + int64(extraKiB%64)<<10
		held16 := min(int64(held), budget)
		sink := new(consumertest.LogsSink)
		cfg := &WebhookConfig{Path: defaultPath, MaxInFlightBytes: budget, MaxConcurrentRequests: 4}
		cfg.MaxRequestBodySize = maxBody
		h := newWebhookHandler(cfg, tb, sink.ConsumeLogs)
		send := func() *httptest.ResponseRecorder {
			req := httptest.NewRequest(http.MethodPost, defaultPath, bytes.NewReader(body))
			if chunked {
				req.ContentLength = -1
				req.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body)))
			}
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			req.Body = http.MaxBytesReader(rec, req.Body, maxBody) // as confighttp does
			h.ServeHTTP(rec, req)
			return rec
		}
		if !h.admit.reserve(held16) {
			t.Fatalf("cannot hold %d of %d", held16, budget)
		}
		rec := send()
		if got := h.admit.bytes.Load(); got != held16 || h.admit.requests.Load() != 0 {
			t.Fatalf("after the request: %d bytes (want %d held by others), %d requests", got, held16, h.admit.requests.Load())
		}
		checkAdmissionAnswer(t, rec, sink)
		h.admit.release(held16)
		if rec.Code != http.StatusServiceUnavailable {
			return
		}
		sink.Reset()
		alone := send()
		if alone.Code == http.StatusServiceUnavailable {
			t.Fatalf("refused alone (budget %d, body limit %d, %d bytes, chunked %v, first %d %s): %s", budget, maxBody, len(body), chunked, rec.Code, rec.Body.String(), alone.Body.String())
		}
		checkAdmissionAnswer(t, alone, sink)
		if got := h.admit.bytes.Load(); got != 0 {
			t.Fatalf("%d bytes left reserved", got)
		}
	})
}

func checkAdmissionAnswer(t *testing.T, rec *httptest.ResponseRecorder, sink *consumertest.LogsSink) {
	t.Helper()
	switch rec.Code {
	case http.StatusOK:
		if sink.LogRecordCount() == 0 {
			t.Fatal("200 without records")
		}
		return
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
	case http.StatusServiceUnavailable:
		if rec.Header().Get("Retry-After") == "" {
			t.Fatal("503 without Retry-After")
		}
	default:
		t.Fatalf("status %d: %s", rec.Code, rec.Body.String())
	}
	if sink.LogRecordCount() != 0 {
		t.Fatalf("%d answered after forwarding records", rec.Code)
	}
	if msg := strings.TrimSuffix(rec.Body.String(), "\n"); msg == "" || strings.ContainsAny(msg, "\n\r") {
		t.Fatalf("reason is not one line: %q", rec.Body.String())
	}
}
