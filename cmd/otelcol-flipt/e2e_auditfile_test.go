package main

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/otelcol-flipt/otelcol-flipt/internal/e2etest"
	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
)

// auditFileConfig: Flipt's webhook sink → flipt_audit receiver, and Flipt's
// traces → otlp → flipt_audit connector, both into one audit_file.
const auditFileConfig = `
extensions:
  health_check:
    endpoint: %[1]s
  file_storage:
    directory: %[5]s
receivers:
  otlp:
    protocols:
      http:
        endpoint: %[2]s
  flipt_audit:
    webhook:
      endpoint: %[3]s
      signing_secret: s3cr3t
connectors:
  flipt_audit/traces: {}
exporters:
  audit_file:
    path: %[4]s
%[6]s
service:
  extensions: [health_check, file_storage]
  telemetry:
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [flipt_audit/traces]
    logs:
      receivers: [flipt_audit, flipt_audit/traces]
      exporters: [audit_file]
`

// durableQueue is the README's durable setup: a persistent sending queue.
const durableQueue = `    sending_queue:
      storage: file_storage`

type auditFileRun struct {
	health, otlp, webhook, path, storage, extra string
}

func newAuditFileRun(t *testing.T, extra string) auditFileRun {
	dir := t.TempDir()
	storage := filepath.Join(dir, "storage")
	if err := os.Mkdir(storage, 0o700); err != nil {
		t.Fatal(err)
	}
	return auditFileRun{
		health:  e2etest.FreeAddr(t),
		otlp:    e2etest.FreeAddr(t),
		webhook: e2etest.FreeAddr(t),
		path:    filepath.Join(dir, "audit", "flipt-audit.log"),
		storage: storage,
		extra:   extra,
	}
}

func (r auditFileRun) start(t *testing.T) *e2etest.Collector {
	t.Helper()
	col := e2etest.StartConfig(t, fmt.Sprintf(auditFileConfig, r.health, r.otlp, r.webhook, r.path, r.storage, r.extra))
	col.WaitHealthy("http://" + r.health)
	col.WaitLog(r.path) // the exporter logs where it writes
	return col
}

// postWebhooks sends every event Flipt delivered, as Flipt sent it.
func (r auditFileRun) postWebhooks(t *testing.T) { postCapturedWebhooks(t, r.webhook) }

// postCapturedWebhooks sends every event Flipt delivered to the webhook at
// addr, as Flipt sent it (body and signature), each retried event once.
func postCapturedWebhooks(t *testing.T, addr string) {
	t.Helper()
	seen := map[string]bool{}
	for _, req := range append(fliptcapture.WebhookRequests(t, false), fliptcapture.WebhookRequests(t, true)...) {
		if seen[string(req.Body)] {
			continue
		}
		seen[string(req.Body)] = true
		resp := e2etest.Post(t, "http://"+addr+"/flipt/audit", "application/json", req.Body,
			"X-Flipt-Webhook-Signature", req.Header("X-Flipt-Webhook-Signature"))
		if resp.Status != 200 {
			t.Fatalf("webhook request %d: %d %s", req.Seq, resp.Status, resp.Body)
		}
	}
}

func (r auditFileRun) postTraces(t *testing.T) {
	t.Helper()
	for i, body := range fliptcapture.TraceBodies(t) {
		resp := e2etest.Post(t, "http://"+r.otlp+"/v1/traces", "application/x-protobuf", body)
		if resp.Status != 200 {
			t.Fatalf("OTLP body %d: %d %s", i+1, resp.Status, resp.Body)
		}
	}
}

func (r auditFileRun) waitFile(t *testing.T, col *e2etest.Collector, want string) {
	t.Helper()
	col.WaitFor("the audit file to equal audit.log", func() bool { return e2etest.ReadFile(t, r.path) == want })
}

func stopAuditFileCollector(t *testing.T, col *e2etest.Collector) {
	t.Helper()
	col.Signal(syscall.SIGTERM)
	if err := col.Wait(30 * time.Second); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
}

// Each way in, on its own (and through the persistent queue), writes exactly Flipt's audit.log with mode 0600,
// and a restart of the binary appends to it.
func TestE2EAuditFile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	for name, tc := range map[string]struct {
		post  func(auditFileRun, *testing.T)
		extra string
	}{
		"webhook":                  {auditFileRun.postWebhooks, ""},
		"traces":                   {auditFileRun.postTraces, ""},
		"webhook/persistent_queue": {auditFileRun.postWebhooks, durableQueue},
	} {
		t.Run(name, func(t *testing.T) {
			r, post := newAuditFileRun(t, tc.extra), tc.post
			log := string(fliptcapture.AuditLog(t))
			col := r.start(t)
			post(r, t)
			r.waitFile(t, col, log)
			fi, err := os.Stat(r.path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("file mode %v, want 0600", fi.Mode().Perm())
			}
			stopAuditFileCollector(t, col)

			col = r.start(t)
			post(r, t)
			r.waitFile(t, col, log+log)
			stopAuditFileCollector(t, col)
		})
	}
}
