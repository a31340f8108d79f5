package fliptaudit

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
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
