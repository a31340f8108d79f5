package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-flipt/otelcol-flipt/internal/auditevent"
	"github.com/otelcol-flipt/otelcol-flipt/internal/e2etest"
	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
)

// fliptAuditConfig runs the three ways in of the audit trail: the signed
// webhook (receiver) and Flipt's OTLP traces (connector), each into its own
// audit_file in Flipt's json log encoding.
const fliptAuditConfig = `
extensions:
  health_check:
    endpoint: ${env:HEALTH}
receivers:
  flipt_audit:
    webhook:
      endpoint: ${env:WEBHOOK}
      signing_secret: ${env:FLIPT_AUDIT_WEBHOOK_SECRET}
  otlp:
    protocols:
      http:
        endpoint: ${env:OTLP_HTTP}
connectors:
  flipt_audit/spans:
exporters:
  audit_file/webhook:
    path: webhook.log
  audit_file/spans:
    path: spans.log
service:
  extensions: [health_check]
  telemetry:
    metrics:
      level: none
  pipelines:
    logs/webhook:
      receivers: [flipt_audit]
      exporters: [audit_file/webhook]
    traces:
      receivers: [otlp]
      exporters: [flipt_audit/spans]
    logs/spans:
      receivers: [flipt_audit/spans]
      exporters: [audit_file/spans]
`

func TestE2EFliptAudit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	health, webhook, otlp := e2etest.FreeAddr(t), e2etest.FreeAddr(t), e2etest.FreeAddr(t)
	col := e2etest.StartConfig(t, fliptAuditConfig,
		"HEALTH="+health, "WEBHOOK="+webhook, "OTLP_HTTP="+otlp,
		"FLIPT_AUDIT_WEBHOOK_SECRET="+fliptcapture.Secret)
	col.WaitHealthy("http://" + health)
	col.WaitLog("Flipt audit webhook listening")
	if strings.Contains(col.Output(), fliptcapture.Secret) {
		t.Fatal("the signing secret is in the collector's output")
	}
	url := "http://" + webhook + "/flipt/audit"
	if r := e2etest.Get(t, url+"/health"); r.Status != 200 {
		t.Fatalf("webhook health: %d", r.Status)
	}

	// The webhook: every request Flipt sent, with its real signature.
	var want bytes.Buffer
	for _, r := range fliptcapture.WebhookRequests(t, false) {
		resp := e2etest.Post(t, url, r.Header("Content-Type"), r.Body,
			"X-Flipt-Webhook-Signature", r.Header("X-Flipt-Webhook-Signature"))
		if resp.Status != 200 {
			t.Fatalf("webhook request %d: %d %s", r.Seq, resp.Status, resp.Body)
		}
		lr := plog.NewLogRecord()
		if err := auditevent.DecodeRecord(r.Body, lr, auditevent.SourceWebhook, 0); err != nil {
			t.Fatal(err)
		}
		body, _ := auditevent.Body(lr)
		want.Write(auditevent.Append(nil, body, auditevent.FormatJSON))
		want.WriteByte('\n')
	}
	first := fliptcapture.WebhookRequests(t, false)[0]
	if resp := e2etest.Post(t, url, "application/json", first.Body); resp.Status != 401 {
		t.Fatalf("unsigned request: %d %s", resp.Status, resp.Body)
	}
	webhookLog := filepath.Join(col.Dir, "webhook.log")
	col.WaitFor("webhook.log to hold the 51 events", func() bool {
		return e2etest.ReadFile(t, webhookLog) == want.String()
	})

	// The traces: Flipt's OTLP/HTTP exports carry all 53 events of its own
	// audit.log, which the connector writes back byte for byte.
	for i, body := range fliptcapture.TraceBodies(t) {
		if resp := e2etest.Post(t, "http://"+otlp+"/v1/traces", "application/x-protobuf", body); resp.Status != 200 {
			t.Fatalf("OTLP body %d: %d %s", i, resp.Status, resp.Body)
		}
	}
	auditLog := string(fliptcapture.AuditLog(t))
	spansLog := filepath.Join(col.Dir, "spans.log")
	col.WaitFor("spans.log to equal Flipt's audit.log", func() bool {
		return e2etest.ReadFile(t, spansLog) == auditLog
	})
	if got := e2etest.ReadFile(t, webhookLog); got != want.String() {
		t.Fatalf("webhook.log changed after the traces:\n%s", got)
	}
}
