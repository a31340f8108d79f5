package main

import (
	"bytes"
	"io"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/otelcol-flipt/otelcol-flipt/internal/e2etest"
	"github.com/otelcol-flipt/otelcol-flipt/internal/loadgen"
)

// holdAnswer is what a held webhook request got back.
type holdAnswer struct {
	status     int
	retryAfter string
	err        error
}

// postHeld sends one signed event with a client that waits as long as Flipt's
// would for a slow answer, and reports the answer on the returned channel.
func postHeld(url string, body []byte) <-chan holdAnswer {
	ch := make(chan holdAnswer, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(loadgen.SignatureHeader, loadgen.Sign(relSecret, body))
		resp, err := (&http.Client{Timeout: 10 * time.Minute}).Do(req)
		if err != nil {
			ch <- holdAnswer{err: err}
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		ch <- holdAnswer{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After")}
	}()
	return ch
}

// writeErrors reads the audit_file exporter's failed-write counter from the
// collector's own metrics.
func writeErrors(t *testing.T, telemetryPort string) int {
	body := e2etest.Get(t, "http://127.0.0.1:"+telemetryPort+"/metrics").Body
	return max(0, relMetricValue(body, `otelcol_audit_file_write_errors(?:_total)?(?:{.*})?`))
}

// On the default pipeline (the exporter retries a failed write for minutes),
// a webhook request held while the audit file cannot be written is answered
// 503 + Retry-After before the server's write deadline, never left to a
// connection error that would make Flipt re-send an event already written;
// and SIGTERM during a hold answers it 503 and lets the process exit.
func TestE2EWebhookHoldIsAnswered(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	env := newDefaultPipelineEnv(t)
	auditPath, _ := relBlockedAuditPath(t)
	col := e2etest.Start(t, e2etest.Options{Env: append(env.vars(),
		"OTELCOL_FLIPT_AUDIT_FILE="+auditPath, "OTELCOL_FLIPT_WEBHOOK_SECRET="+relSecret)})
	col.WaitHealthy("http://" + env.webhook + "/flipt/audit/health")
	url := "http://" + env.webhook + "/flipt/audit"

	a := <-postHeld(url, loadgen.WebhookEvent("held", 0, 1, time.Now()))
	if a.err != nil || a.status != http.StatusServiceUnavailable || a.retryAfter == "" {
		t.Fatalf("held request: want 503 with Retry-After, got %d Retry-After=%q err=%v", a.status, a.retryAfter, a.err)
	}

	// A second hold, cut short by SIGTERM once the exporter has failed on it.
	before := writeErrors(t, env.telemetry)
	ch := postHeld(url, loadgen.WebhookEvent("held", 1, 1, time.Now()))
	col.WaitFor("the exporter to fail on the held event", func() bool { return writeErrors(t, env.telemetry) > before })
	col.Signal(syscall.SIGTERM)
	a = <-ch
	if a.err != nil || a.status != http.StatusServiceUnavailable {
		t.Fatalf("request held at shutdown: want 503, got %d err=%v", a.status, a.err)
	}
	if err := col.Wait(30 * time.Second); err != nil {
		t.Fatalf("exit after SIGTERM during a hold: %v", err)
	}
}
