package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/otelcol-flipt/otelcol-flipt/internal/e2etest"
	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
)

// defaultPipelineEnv moves every listener of the default pipeline to a free
// loopback port so tests can run side by side.
type defaultPipelineEnv struct {
	health, prom, grpc, http, webhook, telemetry string
}

func newDefaultPipelineEnv(t *testing.T) defaultPipelineEnv {
	return defaultPipelineEnv{
		health:    e2etest.FreeAddr(t),
		prom:      e2etest.FreeAddr(t),
		grpc:      e2etest.FreeAddr(t),
		http:      e2etest.FreeAddr(t),
		webhook:   e2etest.FreeAddr(t),
		telemetry: fmt.Sprint(e2etest.FreePort(t)),
	}
}

func (e defaultPipelineEnv) vars() []string {
	return []string{
		"OTELCOL_FLIPT_HEALTH_ENDPOINT=" + e.health,
		"OTELCOL_FLIPT_PROMETHEUS_ENDPOINT=" + e.prom,
		"OTELCOL_FLIPT_OTLP_GRPC_ENDPOINT=" + e.grpc,
		"OTELCOL_FLIPT_OTLP_HTTP_ENDPOINT=" + e.http,
		"OTELCOL_FLIPT_WEBHOOK_ENDPOINT=" + e.webhook,
		"OTELCOL_FLIPT_WEBHOOK_SECRET=" + fliptcapture.Secret,
		"OTELCOL_FLIPT_TELEMETRY_HOST=127.0.0.1",
		"OTELCOL_FLIPT_TELEMETRY_PORT=" + e.telemetry,
	}
}

func TestE2EDefaultPipeline(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	env := newDefaultPipelineEnv(t)
	col := e2etest.Start(t, e2etest.Options{Env: env.vars()})
	col.WaitHealthy("http://" + env.health)
	col.WaitLog("embedded default Flipt pipeline")

	metrics := e2etest.Get(t, "http://"+env.prom+"/metrics")
	if metrics.Status != 200 {
		t.Fatalf("prometheus exporter answered %d", metrics.Status)
	}
	// The collector's own telemetry listens where the environment says.
	own := e2etest.Get(t, "http://127.0.0.1:"+env.telemetry+"/metrics")
	if own.Status != 200 || !strings.Contains(own.Body, "otelcol_process_uptime") {
		t.Fatalf("internal telemetry: %d %.200s", own.Status, own.Body)
	}
	// The OTLP/HTTP receiver accepts an (empty) trace export.
	if r := e2etest.Post(t, "http://"+env.http+"/v1/traces", "application/json", []byte(`{"resourceSpans":[]}`)); r.Status != 200 {
		t.Fatalf("OTLP/HTTP: %d %s", r.Status, r.Body)
	}
	// Where it listens and where it writes is in the log.
	for _, s := range []string{env.grpc, env.http, env.webhook, env.prom, env.health, filepath.Join(col.Dir, "flipt-audit.log")} {
		col.WaitLog(s)
	}

	// Flipt's captured webhook POSTs end up in ./flipt-audit.log exactly as
	// Flipt's own audit log sink wrote them.
	postCapturedWebhooks(t, env.webhook)
	got := e2etest.ReadFile(t, filepath.Join(col.Dir, "flipt-audit.log"))
	if want := string(fliptcapture.AuditLog(t)); got != want {
		t.Fatalf("audit file differs from Flipt's audit.log:\n got %d bytes\nwant %d bytes", len(got), len(want))
	}

	col.Signal(syscall.SIGTERM)
	if err := col.Wait(30 * time.Second); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	if !strings.Contains(col.Output(), "Shutdown complete") {
		t.Fatalf("no clean shutdown in output")
	}
}

func TestE2EInvalidConfigFailsFast(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	const bad = `
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:0
        no_such_field: true
exporters:
  debug: {}
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [debug]}
`
	col := e2etest.StartConfig(t, bad)
	if err := col.Wait(30 * time.Second); err == nil {
		t.Fatal("collector accepted an invalid config")
	}
	if out := col.Output(); !strings.Contains(out, "no_such_field") {
		t.Fatalf("error does not name the bad field:\n%s", out)
	}
}

func TestE2ESubcommands(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := e2etest.Binary(t)
	root := e2etest.RepoRoot()
	run := func(args ...string) (string, error) {
		cmd := exec.Command(bin, args...)
		cmd.Dir = t.TempDir()
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	out, err := run("components")
	if err != nil {
		t.Fatalf("components: %v\n%s", err, out)
	}
	for _, name := range []string{"otlp", "zipkin", "jaeger", "prometheus", "health_check", "file_storage", "memory_limiter", "basicauth"} {
		if !strings.Contains(out, "name: "+name+"\n") {
			t.Errorf("components does not list %s", name)
		}
	}

	if out, err := run("validate"); err != nil {
		t.Errorf("validate of the embedded pipeline: %v\n%s", err, out)
	}
	cfgs, _ := filepath.Glob(filepath.Join(root, "config", "*.yaml"))
	if len(cfgs) == 0 {
		t.Fatal("no shipped configs found")
	}
	for _, f := range cfgs {
		if out, err := run("validate", "--config", f); err != nil {
			t.Errorf("validate %s: %v\n%s", f, err, out)
		}
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("receivers: {otlp: {protocols: {grpc: {endpoint: [1]}}}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := run("validate", "--config", bad); err == nil || !strings.Contains(out, "endpoint") {
		t.Errorf("validate of a bad config: err=%v, output does not name the field:\n%s", err, out)
	}
}
