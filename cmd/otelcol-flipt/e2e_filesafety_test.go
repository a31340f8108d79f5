package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/otelcol-flipt/otelcol-flipt/internal/e2etest"
	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
)

// fileSafetyConfig is a signed webhook into audit_file with the hash chain.
const fileSafetyConfig = `
extensions:
  health_check:
    endpoint: ${env:HEALTH}
receivers:
  flipt_audit:
    webhook:
      endpoint: ${env:WEBHOOK}
      signing_secret: ${env:SECRET}
exporters:
  audit_file:
    path: ${env:AUDIT_FILE}
    hash_chain: true
service:
  extensions: [health_check]
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [flipt_audit]
      exporters: [audit_file]
`

type fileSafetyRun struct {
	cfg, health, webhook, audit string
}

func newFileSafetyRun(t *testing.T, audit string) fileSafetyRun {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte(fileSafetyConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	return fileSafetyRun{cfg: cfg, health: e2etest.FreeAddr(t), webhook: e2etest.FreeAddr(t), audit: audit}
}

func (r fileSafetyRun) env() []string {
	return []string{"HEALTH=" + r.health, "WEBHOOK=" + r.webhook, "SECRET=" + fliptcapture.Secret, "AUDIT_FILE=" + r.audit}
}

func (r fileSafetyRun) start(t *testing.T) *e2etest.Collector {
	col := e2etest.Start(t, e2etest.Options{Args: []string{"--config", r.cfg}, Env: r.env()})
	col.WaitHealthy("http://" + r.health)
	return col
}

// post sends captured webhook events [from, to) as Flipt sent them.
func (r fileSafetyRun) post(t *testing.T, from, to int) {
	t.Helper()
	for _, req := range fliptcapture.WebhookRequests(t, false)[from:to] {
		resp := e2etest.Post(t, "http://"+r.webhook+"/flipt/audit", "application/json", req.Body,
			"X-Flipt-Webhook-Signature", req.Header("X-Flipt-Webhook-Signature"))
		if resp.Status != 200 {
			t.Fatalf("webhook request %d: %d %s", req.Seq, resp.Status, resp.Body)
		}
	}
}

// verifyTool builds auditfile-verify once per test.
func verifyTool(t *testing.T) func(path string) (string, int) {
	bin := filepath.Join(t.TempDir(), "auditfile-verify")
	build := exec.Command("go", "build", "-o", bin, "./exporter/auditfile/cmd/auditfile-verify")
	build.Dir = e2etest.RepoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build auditfile-verify: %v\n%s", err, out)
	}
	return func(path string) (string, int) {
		out, err := exec.Command(bin, "-path", path).CombinedOutput()
		if ee, ok := err.(*exec.ExitError); ok {
			return string(out), ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), 0
	}
}

// The audit file cannot be turned against the host, as the built binary
// runs it: a symbolic link at path is refused by validate and at start (its
// target untouched), and a second collector on the same file is refused
// while the first keeps writing.
func TestE2EAuditFileRefusesLinksAndSecondWriter(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("not yours\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "audit.log")
	if err := os.Symlink(victim, link); err != nil {
		t.Fatal(err)
	}
	r := newFileSafetyRun(t, link)
	cmd := exec.Command(e2etest.Binary(t), "validate", "--config", r.cfg)
	cmd.Env = append(os.Environ(), r.env()...)
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "path:") || !strings.Contains(string(out), "symbolic link") {
		t.Fatalf("validate with a symlink at path: want an error naming path and the link, got %v\n%s", err, out)
	}
	if fi, err := os.Stat(victim); err != nil || fi.Mode().Perm() != 0o644 {
		t.Fatalf("the link's target changed: %v %v", fi.Mode(), err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "not yours\n" {
		t.Fatalf("the link's target was written: %q", b)
	}

	audit := filepath.Join(t.TempDir(), "audit.log")
	first := newFileSafetyRun(t, audit)
	a := first.start(t)
	first.post(t, 0, 5)
	second := newFileSafetyRun(t, audit)
	b := e2etest.Start(t, e2etest.Options{Args: []string{"--config", second.cfg}, Env: second.env()})
	if err := b.Wait(30 * time.Second); err == nil || !b.Exited() {
		t.Fatalf("a second collector on the same audit file started: %v", err)
	}
	if !strings.Contains(b.Output(), "locked by another process") {
		t.Fatalf("the second collector's error does not say the file is locked:\n%s", b.Output())
	}
	first.post(t, 5, 10)
	stopAuditFileCollector(t, a)
	if n := strings.Count(e2etest.ReadFile(t, audit), "\n"); n != 10 {
		t.Fatalf("the first collector's file holds %d lines, want 10", n)
	}
}

// The hash chain, as the built binary keeps it, verifies across logrotate's
// moves and detects what it claims to: a deleted middle segment and lines
// appended behind its back while the collector was stopped.
func TestE2EAuditChainAcrossRotationAndTampering(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	verify := verifyTool(t)
	audit := filepath.Join(t.TempDir(), "audit.log")
	r := newFileSafetyRun(t, audit)
	col := r.start(t)
	move := func(from, to string) {
		if err := os.Rename(from, to); err != nil {
			t.Fatal(err)
		}
	}
	// logrotate with `nocreate`: the file is moved away and the exporter
	// starts a new one at its next write.
	r.post(t, 0, 15)
	move(audit, audit+".1")
	r.post(t, 15, 30)
	move(audit+".1", audit+".2")
	move(audit, audit+".1")
	r.post(t, 30, 45)
	stopAuditFileCollector(t, col)
	if out, code := verify(audit); code != 0 || strings.Contains(out, "FAIL") {
		t.Fatalf("auditfile-verify after two logrotate moves: exit %d\n%s", code, out)
	}
	lines := 0
	for _, p := range []string{audit + ".2", audit + ".1", audit} {
		lines += strings.Count(e2etest.ReadFile(t, p), "\n")
	}
	if lines != 45 {
		t.Fatalf("the three files hold %d lines, want 45", lines)
	}

	// Forged lines appended while the collector was stopped: the next start
	// does not seal them into the chain.
	forged := fliptcapture.Lines(t, "audit.log")[50]
	f, err := os.OpenFile(audit, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(append(forged, '\n')); err != nil {
		t.Fatal(err)
	}
	f.Close()
	col = r.start(t)
	r.post(t, 45, 51)
	stopAuditFileCollector(t, col)
	out, code := verify(audit)
	if code != 1 || !strings.Contains(out, "FAIL") {
		t.Fatalf("auditfile-verify after forged lines: want exit 1 with a FAIL, got %d\n%s", code, out)
	}
	t.Logf("RESULT chain, forged lines while stopped:\n%s", out)

	// A deleted middle segment: its chain, kept by the exporter when
	// logrotate moved the file, says a log is missing; with that chain
	// deleted too, the link between its neighbours breaks.
	if err := os.Remove(audit + ".1"); err != nil {
		t.Fatal(err)
	}
	out, code = verify(audit)
	if code != 1 || !strings.Contains(out, "its log file is missing") {
		t.Fatalf("auditfile-verify with the middle segment deleted: want its chain reported without its log, got exit %d\n%s", code, out)
	}
	t.Logf("RESULT chain, middle segment deleted:\n%s", out)
	for _, l := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(l, "FAIL "); ok && strings.Contains(l, "its log file is missing") {
			chain, _, _ := strings.Cut(strings.TrimSpace(rest), ": ")
			if err := os.Remove(chain); err != nil {
				t.Fatal(err)
			}
		}
	}
	out, code = verify(audit)
	if code != 1 || !strings.Contains(out, "prev does not match") {
		t.Fatalf("auditfile-verify with the middle segment and its chain deleted: want a broken link, got exit %d\n%s", code, out)
	}
	t.Logf("RESULT chain, middle segment and its chain deleted:\n%s", out)
}
