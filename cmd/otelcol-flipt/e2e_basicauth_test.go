package main

import (
	"strings"
	"testing"

	"github.com/otelcol-flipt/otelcol-flipt/internal/e2etest"
	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
)

// The bundled basicauth extension guards the webhook. Flipt's webhook
// client sends the user:password of its url as basic auth, which is what
// Go's HTTP client (Flipt's, and this test's) does with a URL's userinfo.
func TestE2EWebhookBasicAuth(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	health, webhook := e2etest.FreeAddr(t), e2etest.FreeAddr(t)
	col := e2etest.StartConfig(t, `
extensions:
  health_check:
    endpoint: `+health+`
  basicauth/flipt:
    htpasswd:
      inline: |
        flipt:${env:WEBHOOK_PASSWORD}
receivers:
  flipt_audit:
    webhook:
      endpoint: `+webhook+`
      auth:
        authenticator: basicauth/flipt
exporters:
  audit_file:
    path: audit.log
service:
  extensions: [health_check, basicauth/flipt]
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [flipt_audit]
      exporters: [audit_file]
`, "WEBHOOK_PASSWORD=pa55word")
	col.WaitHealthy("http://" + health)

	body := fliptcapture.WebhookRequests(t, false)[0].Body
	for name, url := range map[string]string{
		"no credentials": "http://" + webhook + "/flipt/audit",
		"wrong password": "http://flipt:nope@" + webhook + "/flipt/audit",
		"unknown user":   "http://other:pa55word@" + webhook + "/flipt/audit",
	} {
		if r := e2etest.Post(t, url, "application/json", body); r.Status != 401 {
			t.Errorf("%s: %d, want 401", name, r.Status)
		}
	}
	if r := e2etest.Post(t, "http://flipt:pa55word@"+webhook+"/flipt/audit", "application/json", body); r.Status != 200 {
		t.Fatalf("with the password: %d %s", r.Status, r.Body)
	}
	lines := strings.Count(e2etest.ReadFile(t, col.Dir+"/audit.log"), "\n")
	if lines != 1 {
		t.Fatalf("audit file has %d lines, want only the authenticated event", lines)
	}
	if strings.Contains(col.Output(), "pa55word") {
		t.Fatal("the password reached the log")
	}
}
