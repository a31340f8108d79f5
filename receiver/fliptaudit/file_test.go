package fliptaudit

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/otelcol-flipt/otelcol-flipt/internal/auditevent"
	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
	"github.com/otelcol-flipt/otelcol-flipt/receiver/fliptaudit/internal/metadata"
	"github.com/otelcol-flipt/otelcol-flipt/receiver/fliptaudit/internal/metadatatest"
)

// waitFor polls cond until it holds, failing after a generous deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Flipt's own audit.log, with a line that is not an event inserted, read
// by a receiver with only the file section: every event arrives in order,
// the bad line is counted, and no webhook listens.
func TestFileSection(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.log")
	lines := fliptcapture.Lines(t, "audit.log")
	var data bytes.Buffer
	for i, l := range lines {
		if i == 10 {
			data.WriteString("{\"level\":\"info\",\"msg\":\"not an event\"}\n")
		}
		data.Write(l)
		data.WriteByte('\n')
	}
	if err := os.WriteFile(path, data.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}

	cfg := NewFactory().CreateDefaultConfig().(*Config)
	fc := cfg.File.GetOrInsertDefault()
	fc.Include = []string{filepath.Join(dir, "*.log")}
	fc.PollInterval = 10 * time.Millisecond
	if cfg.webhook() != nil {
		t.Fatal("webhook on with only the file section")
	}
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	sink := new(consumertest.LogsSink)
	rcv, err := NewFactory().CreateLogs(context.Background(), metadatatest.NewSettings(tel), cfg, sink)
	if err != nil {
		t.Fatal(err)
	}
	if err := rcv.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rcv.Shutdown(context.Background()) })
	if rcv.(*auditReceiver).addr != nil {
		t.Error("a webhook listens")
	}

	waitFor(t, "53 records", func() bool { return sink.LogRecordCount() >= len(lines) })
	got := records(sink)
	if len(got) != len(lines) {
		t.Fatalf("%d records, want %d", len(got), len(lines))
	}
	if scope := sink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).Scope().Name(); scope != metadata.ScopeName {
		t.Errorf("scope %q", scope)
	}
	for i, lr := range got {
		if s := encode(t, lr, auditevent.FormatJSON); s != string(lines[i]) {
			t.Errorf("record %d:\n got %s\nwant %s", i, s, lines[i])
		}
		if v, _ := lr.Attributes().Get(auditevent.AttrSource); v.Str() != auditevent.SourceFile {
			t.Errorf("record %d: source %q", i, v.Str())
		}
	}
	waitFor(t, "the skipped line to be counted", func() bool {
		return counter(t, tel, "otelcol_flipt_audit_file_lines_skipped", "", "") == 1
	})
	if n := counter(t, tel, metricReceived, "source", "file"); n != int64(len(lines)) {
		t.Errorf("events_received{source=file} = %d", n)
	}
	if n := counter(t, tel, "otelcol_receiver_accepted_log_records", "transport", "file"); n != int64(len(lines)) {
		t.Errorf("receiver_accepted_log_records{transport=file} = %d", n)
	}
}

// When the file section fails to start, the webhook started before it is
// closed again.
func TestFileStartFailureClosesWebhook(t *testing.T) {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.Webhook.GetOrInsertDefault().NetAddr.Endpoint = "127.0.0.1:0"
	fc := cfg.File.GetOrInsertDefault()
	fc.Include = []string{filepath.Join(t.TempDir(), "*.log")}
	missing := component.MustNewID("file_storage")
	fc.Storage = &missing
	rcv, err := NewFactory().CreateLogs(context.Background(), receivertest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	if err := rcv.Start(context.Background(), componenttest.NewNopHost()); err == nil {
		t.Fatal("started without its storage extension")
	}
	addr := rcv.(*auditReceiver).addr
	if addr == nil {
		t.Fatal("webhook did not start first")
	}
	l, err := net.Listen("tcp", addr.String())
	if err != nil {
		t.Fatalf("webhook port still taken: %v", err)
	}
	l.Close()
	if err := rcv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// extensionHost is a collector host holding the given extensions.
type extensionHost map[component.ID]component.Component

func (h extensionHost) GetExtensions() map[component.ID]component.Component { return h }

// childEnv marks the process that TestFileSourceLeavesTheWebhookItsDescriptors
// runs under a low descriptor limit.
const childEnv = "FLIPTAUDIT_FD_LIMIT_CHILD"

// The file source cannot take the webhook's descriptors: in a process
// limited to 256 descriptors, with include matching 3,000 files (the
// tailer once held one descriptor per file for good), the webhook answers
// its health check and accepts every captured Flipt request while the
// files are read, every file's line arrives, the tailer holds at most
// max_concurrent_files (64) open, and checkpoint writes follow the files
// read. The limit applies to a child process so no other test runs under it.
func TestFileSourceLeavesTheWebhookItsDescriptors(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("sets RLIMIT_NOFILE")
	}
	if os.Getenv(childEnv) == "" {
		ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), childEnv+"=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		return
	}
	const files, bound, limit = 3000, 64, 256
	lim := syscall.Rlimit{Cur: limit, Max: limit}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	line := fliptcapture.Lines(t, "audit.log")[0]
	for i := range files {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("audit-%05d.log", i)), append(line, '\n'), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	storageID := component.MustNewID("file_storage")
	sf := filestorage.NewFactory()
	scfg := sf.CreateDefaultConfig().(*filestorage.Config)
	scfg.Directory = t.TempDir()
	scfg.Compaction.Directory = scfg.Directory
	ext, err := sf.Create(context.Background(), extensiontest.NewNopSettings(sf.Type()), scfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := ext.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ext.Shutdown(context.Background()) })

	cfg := NewFactory().CreateDefaultConfig().(*Config)
	wh := cfg.Webhook.GetOrInsertDefault()
	wh.NetAddr.Endpoint = "127.0.0.1:0"
	wh.SigningSecret = fliptcapture.Secret
	fc := cfg.File.GetOrInsertDefault()
	fc.Include = []string{filepath.Join(dir, "*.log")}
	fc.PollInterval = 10 * time.Millisecond
	fc.MaxConcurrentFiles = bound
	fc.Storage = &storageID
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	sink := new(consumertest.LogsSink)
	rcv, err := NewFactory().CreateLogs(context.Background(), metadatatest.NewSettings(tel), cfg, sink)
	if err != nil {
		t.Fatal(err)
	}
	if err := rcv.Start(context.Background(), extensionHost{storageID: ext}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rcv.Shutdown(context.Background()) })
	base := "http://" + rcv.(*auditReceiver).addr.String()

	// Every request on a new connection, so each needs a descriptor; a
	// stuck webhook fails the test instead of hanging it. (The child
	// process runs this test only.)
	http.DefaultClient.Transport = &http.Transport{DisableKeepAlives: true}
	http.DefaultClient.Timeout = 20 * time.Second
	reqs := fliptcapture.WebhookRequests(t, false)
	webhook := func() {
		t.Helper()
		for _, r := range reqs {
			if resp := do(t, mustRequest(t, http.MethodGet, base+wh.HealthPath)); resp.status != http.StatusOK {
				t.Fatalf("health: %d %s", resp.status, resp.body)
			}
			if resp := postCaptured(t, base+wh.Path, r); resp.status != http.StatusOK {
				t.Fatalf("request %d: %d %s", r.Seq, resp.status, resp.body)
			}
		}
	}
	webhook() // while the files are read
	waitFor(t, "every line and request", func() bool { return sink.LogRecordCount() >= files+len(reqs) })
	webhook() // once all were read, the tailer holding its bound
	if n := sink.LogRecordCount(); n != files+2*len(reqs) {
		t.Errorf("%d records, want %d", n, files+2*len(reqs))
	}
	if n := counter(t, tel, "otelcol_flipt_audit_file_open", "", ""); n < 1 || n > bound {
		t.Errorf("file_open = %d, want 1..%d", n, bound)
	}
	waitFor(t, "the checkpoints of every file", func() bool {
		return counter(t, tel, "otelcol_flipt_audit_file_checkpoint_writes", "", "") >= files
	})
	if n := counter(t, tel, "otelcol_flipt_audit_file_checkpoint_writes", "", ""); n > files+files/64+8 {
		t.Errorf("checkpoint_writes = %d for %d files", n, files)
	}
}

func mustRequest(t *testing.T, method, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// The README's file example is a valid configuration with the values it
// shows.
func TestREADMEFileExample(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)\n### `file`\n.*?```yaml\n(.*?)```").FindSubmatch(readme)
	if m == nil {
		t.Fatal("README's file section has no example")
	}
	path := filepath.Join(t.TempDir(), "example.yaml")
	if err := os.WriteFile(path, m[1], 0o600); err != nil {
		t.Fatal(err)
	}
	cm, err := confmaptest.LoadConf(path)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := cm.Sub("receivers::flipt_audit")
	if err != nil {
		t.Fatal(err)
	}
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	if err := sub.Unmarshal(cfg); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	f := cfg.File.Get()
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.webhook() != nil || f.Include[0] != "/var/log/flipt/audit.log" || f.MaxConcurrentFiles != 256 ||
		f.Storage == nil || f.Storage.String() != "file_storage" {
		t.Errorf("file %+v", f)
	}
}
