package fliptaudit

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/otelcol-flipt/otelcol-flipt/receiver/fliptaudit/internal/metadata"
)

func loadConfig(t *testing.T, name string) (*Config, error) {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	id := component.NewID(metadata.Type)
	if name != "" {
		id = component.NewIDWithName(metadata.Type, name)
	}
	sub, err := cm.Sub(id.String())
	if err != nil {
		t.Fatal(err)
	}
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	if err := sub.Unmarshal(cfg); err != nil {
		t.Fatal(err)
	}
	return cfg, confmap.Validate(cfg)
}

func TestConfigDefaults(t *testing.T) {
	cfg, err := loadConfig(t, "")
	if err != nil {
		t.Fatal(err)
	}
	w := cfg.webhook()
	if w == nil || w.NetAddr.Endpoint != "localhost:8088" || w.Path != "/flipt/audit" || w.HealthPath != "/flipt/audit/health" {
		t.Fatalf("default webhook %+v", w)
	}
	if w.SigningSecret != "" || w.DedupWindow != 0 || w.DedupMaxEntries != 10000 {
		t.Errorf("defaults: secret set %v, dedup %v/%d", w.SigningSecret != "", w.DedupWindow, w.DedupMaxEntries)
	}
	if w.HoldTimeout != 20*time.Second || w.WriteTimeout != 30*time.Second || w.MaxRequestBodySize != 32<<20 {
		t.Errorf("defaults: hold %v, write %v, body %d", w.HoldTimeout, w.WriteTimeout, w.MaxRequestBodySize)
	}
	if cfg.MaxDepth != 10240 || cfg.MaxMembers != 1<<20 || cfg.MaxElements != 1<<22 {
		t.Errorf("default limits %d/%d/%d", cfg.MaxDepth, cfg.MaxMembers, cfg.MaxElements)
	}
	if w.MaxInFlightBytes != 64<<20 || w.MaxConcurrentRequests != 32 || w.AdmissionWait != 5*time.Second {
		t.Errorf("default admission %d bytes, %d requests, wait %v", w.MaxInFlightBytes, w.MaxConcurrentRequests, w.AdmissionWait)
	}
	if cfg.File.HasValue() {
		t.Error("file is on by default")
	}
}

func TestConfigFull(t *testing.T) {
	cfg, err := loadConfig(t, "full")
	if err != nil {
		t.Fatal(err)
	}
	w := cfg.webhook()
	if w.NetAddr.Endpoint != "0.0.0.0:9443" || w.Path != "/audit" || w.HealthPath != "/healthz" ||
		string(w.SigningSecret) != "s3cr3t" || w.DedupWindow != 2*time.Second || w.DedupMaxEntries != 500 ||
		w.MaxRequestBodySize != 1<<20 || w.WriteTimeout != 40*time.Second || w.HoldTimeout != 30*time.Second {
		t.Errorf("webhook %+v", w)
	}
	if cfg.MaxDepth != 128 || cfg.MaxMembers != 5000 || cfg.MaxElements != 100000 {
		t.Errorf("limits %d/%d/%d", cfg.MaxDepth, cfg.MaxMembers, cfg.MaxElements)
	}
	if w.MaxInFlightBytes != 2<<20 || w.MaxConcurrentRequests != 8 || w.AdmissionWait != 2*time.Second {
		t.Errorf("admission %d bytes, %d requests, wait %v", w.MaxInFlightBytes, w.MaxConcurrentRequests, w.AdmissionWait)
	}
	f := cfg.File.Get()
	if f == nil || f.Include[0] != "/var/log/flipt/audit*.log" || f.StartAt != "end" || f.PollInterval != time.Second ||
		f.MaxBatchLines != 100 || f.MaxConcurrentFiles != 64 || f.MaxLineSize != 1<<20 || f.Storage == nil || f.Storage.String() != "file_storage" || len(f.Exclude) != 1 {
		t.Errorf("file %+v", f)
	}
}

func TestConfigSections(t *testing.T) {
	cfg, err := loadConfig(t, "file_only")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.webhook() != nil {
		t.Error("a file-only receiver also listens")
	}
	if f := cfg.File.Get(); f.PollInterval != 200*time.Millisecond || f.StartAt != "beginning" || f.MaxConcurrentFiles != 256 {
		t.Errorf("file defaults %+v", f)
	}
	cfg, err = loadConfig(t, "empty_webhook")
	if err != nil {
		t.Fatal(err)
	}
	if w := cfg.webhook(); w == nil || w.NetAddr.Endpoint != "localhost:8088" {
		t.Errorf("empty webhook section %+v", w)
	}
}

func TestConfigInvalid(t *testing.T) {
	for name, want := range map[string][]string{
		"bad_path":              {"webhook::path"},
		"bad_dedup":             {"webhook::dedup_window"},
		"bad_dedup_entries":     {"webhook::dedup_max_entries"},
		"same_paths":            {"webhook::health_path"},
		"bad_file":              {"include", "start_at", "max_concurrent_files"},
		"bad_file_with_webhook": {"include[0]"},
		"negative_timeouts": {"webhook::read_timeout", "webhook::read_header_timeout", "webhook::write_timeout",
			"webhook::idle_timeout", "webhook::hold_timeout"},
		"hold_past_write":    {"webhook::hold_timeout", "webhook::write_timeout"},
		"bad_limits":         {"max_depth", "max_members", "max_elements", "max_line_size"},
		"bad_admission":      {"webhook::max_in_flight_bytes: 50331648 is less than twice max_request_body_size 33554432", "webhook::max_concurrent_requests"},
		"no_in_flight_bytes": {"webhook::max_in_flight_bytes: must be positive"},
		"negative_wait":      {"webhook::admission_wait: must not be negative"},
	} {
		_, err := loadConfig(t, name)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not name %s", name, err, w)
			}
		}
	}
}

// The secret is opaque: printing the config never shows it.
func TestConfigSecretIsOpaque(t *testing.T) {
	cfg, err := loadConfig(t, "full")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{cfg.webhook().SigningSecret.String(), fmtAny(cfg.webhook().SigningSecret)} {
		if strings.Contains(s, "s3cr3t") {
			t.Errorf("secret printed: %s", s)
		}
	}
}

func fmtAny(v any) string { return fmt.Sprintf("%v %+v", v, v) }

func TestConnectorConfig(t *testing.T) {
	cfg := NewConnectorFactory().CreateDefaultConfig().(*ConnectorConfig)
	if cfg.MaxDepth != 10240 || cfg.MaxMembers != 1<<20 || cfg.MaxElements != 1<<22 || cfg.Validate() != nil {
		t.Errorf("defaults %+v: %v", cfg, cfg.Validate())
	}
	cfg.MaxDepth, cfg.MaxMembers, cfg.MaxElements = 0, -1, 0
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "max_depth") || !strings.Contains(err.Error(), "max_members") ||
		!strings.Contains(err.Error(), "max_elements") {
		t.Errorf("invalid limits: %v", err)
	}
}
