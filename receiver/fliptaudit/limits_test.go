package fliptaudit

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"

	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
	"github.com/otelcol-flipt/otelcol-flipt/receiver/fliptaudit/internal/metadatatest"
)

// The receiver's max_members (and max_depth) apply to both sources: the
// webhook refuses an object over it with 400 naming the limit, the file
// source skips such a line and counts it, and the events within the limit
// go on from both.
func TestLimitsApplyToBothSources(t *testing.T) {
	ok := fliptcapture.Lines(t, "audit.log")[0]
	wide := bytes.Replace(ok, []byte(`"payload":{`), []byte(`"payload":{"w1":1,"w2":2,"w3":3,"w4":4,`), 1)
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.log")
	if err := os.WriteFile(path, append(append(append(wide, '\n'), ok...), '\n'), 0o600); err != nil {
		t.Fatal(err)
	}

	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.MaxMembers = 7 // the event has 7 members, its payload 4 (8 with the w keys)
	wh := cfg.Webhook.GetOrInsertDefault()
	wh.NetAddr.Endpoint = "127.0.0.1:0"
	fc := cfg.File.GetOrInsertDefault()
	fc.Include = []string{path}
	fc.PollInterval = 10 * time.Millisecond
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	sink := new(consumertest.LogsSink)
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	rcv, err := NewFactory().CreateLogs(context.Background(), metadatatest.NewSettings(tel), cfg, sink)
	if err != nil {
		t.Fatal(err)
	}
	if err := rcv.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rcv.Shutdown(context.Background()) })
	url := "http://" + rcv.(*auditReceiver).addr.String() + defaultPath

	resp := post(t, url, "application/json", wide)
	if resp.status != http.StatusBadRequest || !strings.Contains(resp.body, "event 0: object members exceed max_members 7") {
		t.Fatalf("wide event by webhook: %d %q", resp.status, resp.body)
	}
	if resp := post(t, url, "application/json", ok); resp.status != http.StatusOK {
		t.Fatalf("event within the limit: %d %q", resp.status, resp.body)
	}
	waitFor(t, "the file's event and skip", func() bool {
		return sink.LogRecordCount() == 2 && counter(t, tel, "otelcol_flipt_audit_file_lines_skipped", "", "") == 1
	})
	if n := counter(t, tel, metricRefused, "reason", reasonLimit); n != 1 {
		t.Errorf("requests_refused{reason=limit} = %d", n)
	}
}
