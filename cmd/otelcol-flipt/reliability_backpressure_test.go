package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/otelcol-flipt/otelcol-flipt/internal/e2etest"
	"github.com/otelcol-flipt/otelcol-flipt/internal/loadgen"
)

// relBackpressureConfig is webhook -> [memory_limiter] -> audit_file, with
// extra exporter settings (indented under audit_file).
func relBackpressureConfig(exporterExtra string, limiter bool) string {
	c := `
receivers:
  flipt_audit:
    webhook:
      endpoint: ${env:WEBHOOK}
      signing_secret: ${env:SECRET}
exporters:
  audit_file:
    path: ${env:AUDIT_FILE}
` + exporterExtra
	procs := ""
	if limiter {
		c += `
processors:
  memory_limiter:
    check_interval: 100ms
    limit_mib: ` + fmt.Sprint(bpLimitMiB) + `
    spike_limit_mib: ` + fmt.Sprint(bpSpikeMiB) + `
`
		procs = "      processors: [memory_limiter]\n"
	}
	return c + `
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [flipt_audit]
` + procs + `      exporters: [audit_file]
`
}

const (
	bpLimitMiB = 200
	bpSpikeMiB = 50
	// bpRSSMarginMiB is what RSS may exceed limit_mib by: the limiter
	// bounds the Go heap it measures, not the runtime, stacks, mapped
	// binary and allocator slack the kernel counts in RSS.
	bpRSSMarginMiB = 200
)

// relBlockedAuditPath returns an audit file path whose directory is a regular
// file, so opening it fails (root ignores permissions, this does not), and
// a func that removes the cause.
func relBlockedAuditPath(t *testing.T) (path string, unblock func()) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "audit")
	if err := os.WriteFile(blocker, []byte("not a directory\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(blocker, "flipt-audit.log"), func() {
		if err := os.Remove(blocker); err != nil {
			t.Fatal(err)
		}
	}
}

// TestReliabilityBackpressure makes the audit file unwritable and checks
// that the webhook pushes back on Flipt instead of losing events, and that
// with a memory_limiter a stalled exporter keeps RSS bounded.
func TestReliabilityBackpressure(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	t.Run("refuse_503", relTestBackpressureRefuse)
	t.Run("hold_default_retry", relTestBackpressureHold)
	t.Run("memory_limiter_429", relTestBackpressureMemory)
}

type relBpSetup struct {
	url, auditPath string
	unblock        func()
	col            *e2etest.Collector
}

func relStartBackpressure(t *testing.T, exporterExtra string, limiter bool) relBpSetup {
	auditPath, unblock := relBlockedAuditPath(t)
	webhook := e2etest.FreeAddr(t)
	url := "http://" + webhook + "/flipt/audit"
	rc := newRelCollector(t, relBackpressureConfig(exporterExtra, limiter), url+"/health",
		"WEBHOOK="+webhook, "SECRET="+relSecret, "AUDIT_FILE="+auditPath)
	return relBpSetup{url: url, auditPath: auditPath, unblock: unblock, col: rc.start()}
}

func relPostSigned(t *testing.T, url string, body []byte) e2etest.Response {
	return e2etest.Post(t, url, "application/json", body, loadgen.SignatureHeader, loadgen.Sign(relSecret, body))
}

// relRunAsync runs loadgen in the background until cfg's bounds or ctx end it.
func relRunAsync(ctx context.Context, cfg loadgen.Config) <-chan loadgen.Report {
	ch := make(chan loadgen.Report, 1)
	go func() {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		rep, err := loadgen.Run(ctx, cfg)
		if err != nil {
			rep.Errors = -1
		}
		ch <- rep
	}()
	return ch
}

// relTestBackpressureRefuse: no queue, no exporter retry: a failed write is
// answered at once with 503 + Retry-After: 1; Flipt's client retries; once
// the cause is removed every event lands exactly once.
func relTestBackpressureRefuse(t *testing.T) {
	const events = 50
	s := relStartBackpressure(t, "    retry_on_failure:\n      enabled: false\n", false)
	probe := loadgen.WebhookEvent("probe503", 0, 1, time.Now())
	r := relPostSigned(t, s.url, probe)
	if r.Status != http.StatusServiceUnavailable || r.Header.Get("Retry-After") != "1" {
		t.Fatalf("unwritable file: want 503 with Retry-After: 1, got %d Retry-After=%q %s", r.Status, r.Header.Get("Retry-After"), r.Body)
	}
	t.Logf("probe answer: %d Retry-After=%s %s", r.Status, r.Header.Get("Retry-After"), strings.TrimSpace(r.Body))

	run := fmt.Sprintf("refuse-%d", time.Now().UnixNano())
	done := relRunAsync(context.Background(), loadgen.Config{
		Mode: loadgen.ModeWebhook, Target: s.url, Secret: relSecret, Run: run, Count: events,
		Concurrency: 1, FliptRetry: true, MaxBackoff: 4 * time.Second, Timeout: 10 * time.Second,
	})
	// Let the sender be refused at least twice, then remove the cause.
	s.col.WaitFor("the sender to be refused", func() bool {
		return strings.Count(s.col.Output(), "Exporting failed") >= 3
	})
	s.unblock()
	rep := <-done
	tally := loadgen.Verify([]byte(relWaitForRun(t, s.auditPath, run, events)), run, events)
	t.Logf("RESULT backpressure refuse: acked %d/%d, final refusals %v, retries %d, max latency %.0f ms; file: %s",
		rep.Acked, events, rep.Refused, rep.Retries, rep.Latency.Max, tally)
	if rep.Acked != events || rep.Retries == 0 {
		t.Errorf("want all %d acknowledged after retries, got acked %d, retries %d, refused %v", events, rep.Acked, rep.Retries, rep.Refused)
	}
	if !tally.OK() {
		t.Errorf("want every event exactly once: %s (missing %v, duplicated %v)", tally, relHead(tally.Missing), relHead(tally.Duplicates))
	}
	if strings.Contains(e2etest.ReadFile(t, s.auditPath), "probe503") {
		t.Error("an event answered 503 was written anyway")
	}
}

// relTestBackpressureHold: the exporter's default retry_on_failure (no queue)
// holds the request and retries the write; Flipt's request just waits and
// gets its 200 once the file is writable: no refusal, no loss, no duplicate.
func relTestBackpressureHold(t *testing.T) {
	const events = 20
	s := relStartBackpressure(t, "", false)
	run := fmt.Sprintf("hold-%d", time.Now().UnixNano())
	done := relRunAsync(context.Background(), loadgen.Config{
		Mode: loadgen.ModeWebhook, Target: s.url, Secret: relSecret, Run: run, Count: events,
		Concurrency: 1, FliptRetry: true, MaxBackoff: 4 * time.Second, Timeout: time.Minute,
	})
	s.col.WaitLog("Will retry")
	s.unblock()
	rep := <-done
	tally := loadgen.Verify([]byte(relWaitForRun(t, s.auditPath, run, events)), run, events)
	t.Logf("RESULT backpressure hold: acked %d/%d, refusals %v, retries %d, max latency %.0f ms; file: %s",
		rep.Acked, events, rep.Refused, rep.Retries, rep.Latency.Max, tally)
	if rep.Acked != events || len(rep.Refused) != 0 {
		t.Errorf("want all %d acknowledged without refusal, got acked %d, refused %v", events, rep.Acked, rep.Refused)
	}
	if !tally.OK() {
		t.Errorf("want every event exactly once: %s", tally)
	}
}

// relWaitForRun waits until the audit file holds every event of run.
func relWaitForRun(t *testing.T, path, run string, events int) string {
	return string(relWaitFile(t, path, "all events of "+run, 60*time.Second, func(b []byte) bool {
		return len(loadgen.Verify(b, run, events).Missing) == 0
	}))
}

// relTestBackpressureMemory: a stalled exporter behind an in-memory queue that
// is effectively unbounded, so only the memory_limiter stands between load
// and memory. Under sustained NDJSON load it must refuse with 429 +
// Retry-After: 5, and RSS must stay near limit_mib.
func relTestBackpressureMemory(t *testing.T) {
	s := relStartBackpressure(t, `    sending_queue:
      enabled: true
      queue_size: 10000000
      num_consumers: 2
    retry_on_failure:
      enabled: true
      initial_interval: 1s
      max_elapsed_time: 0s
`, true)
	rss := relSampleRSS(s.col.PID())
	baseMiB := float64(relProcStatusKiB(s.col.PID(), "VmRSS")) / 1024

	// Sustained load until the limiter refuses, and for 3s more, bounded
	// by 30s in all.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := relRunAsync(ctx, loadgen.Config{
		Mode: loadgen.ModeNDJSON, Target: s.url, Secret: relSecret, Run: fmt.Sprintf("mem-%d", time.Now().UnixNano()),
		Duration: 30 * time.Second, Concurrency: 4, Batch: 50, Scale: 20, Timeout: 10 * time.Second,
	})
	// Probe beside the load until the limiter's refusal is seen.
	probes := map[int]int{}
	var retryAfter429 string
	for i := 0; ctx.Err() == nil && retryAfter429 == ""; i++ {
		r := relPostSigned(t, s.url, loadgen.WebhookEvent("memprobe", i, 1, time.Now()))
		probes[r.Status]++
		if r.Status == http.StatusTooManyRequests {
			retryAfter429 = r.Header.Get("Retry-After")
			t.Logf("429 answer: Retry-After=%s %s", retryAfter429, strings.TrimSpace(r.Body))
		}
		time.Sleep(100 * time.Millisecond)
	}
	select {
	case <-ctx.Done():
	case <-time.After(3 * time.Second):
	}
	cancel()
	rep := <-done
	peak := rss.Stop()
	t.Logf("RESULT backpressure memory: limit_mib %d, spike %d: RSS at start %.0f MiB, peak %.0f MiB; load: %d requests, %d events acked (queued), refused %v, errors %d; probes %v",
		bpLimitMiB, bpSpikeMiB, baseMiB, peak, rep.Requests, rep.Acked, rep.Refused, rep.Errors, probes)
	if rep.Refused[http.StatusTooManyRequests] == 0 && probes[http.StatusTooManyRequests] == 0 {
		t.Errorf("the memory_limiter never refused (no 429): refused %v, probes %v", rep.Refused, probes)
	}
	if probes[http.StatusTooManyRequests] > 0 && retryAfter429 != "5" {
		t.Errorf("429 without Retry-After: 5 (got %q)", retryAfter429)
	}
	if peak > bpLimitMiB+bpRSSMarginMiB {
		t.Errorf("peak RSS %.0f MiB above limit_mib %d + %d MiB", peak, bpLimitMiB, bpRSSMarginMiB)
	}
	// Still serving: the health path answers, 200 or (when the last hand-off
	// was refused) 503 with its reason.
	if r := e2etest.Get(t, s.url+"/health"); r.Status != http.StatusOK && r.Status != http.StatusServiceUnavailable {
		t.Errorf("webhook health after the load: %d %s", r.Status, r.Body)
	}
}
