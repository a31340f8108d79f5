package fliptaudit

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/confmap"

	"github.com/otelcol-flipt/otelcol-flipt/receiver/fliptaudit/internal/filetail"
)

// Defaults of the webhook section.
const (
	defaultEndpoint   = "localhost:8088"
	defaultPath       = "/flipt/audit"
	defaultHealthPath = "/flipt/audit/health"
	// Server read timeouts (confighttp leaves the body's unbounded).
	defaultReadHeaderTimeout = 10 * time.Second
	defaultReadTimeout       = 30 * time.Second
	// defaultDedupMaxEntries bounds the memory of the duplicate window: about
	// 100 bytes per remembered body.
	defaultDedupMaxEntries = 10000
)

// Config is the flipt_audit receiver's configuration. With neither section
// set the webhook runs with its defaults; with only file set, only the file
// is read.
type Config struct {
	// Webhook receives the POSTs of Flipt's webhook audit sink.
	Webhook configoptional.Optional[WebhookConfig] `mapstructure:"webhook"`
	// File tails the files of Flipt's log audit sink.
	File configoptional.Optional[filetail.Config] `mapstructure:"file"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// WebhookConfig is the HTTP endpoint Flipt's webhook sink posts to.
type WebhookConfig struct {
	confighttp.ServerConfig `mapstructure:",squash"`
	// Path receives the events (POST).
	Path string `mapstructure:"path"`
	// HealthPath answers GET with 200 while the receiver runs.
	HealthPath string `mapstructure:"health_path"`
	// SigningSecret is Flipt's webhook signing_secret; when set, every
	// request must carry a valid X-Flipt-Webhook-Signature.
	SigningSecret configopaque.String `mapstructure:"signing_secret"`
	// DedupWindow, when positive, answers 200 without forwarding to a body
	// identical to one accepted less than this long ago. Off by default.
	DedupWindow time.Duration `mapstructure:"dedup_window"`
	// DedupMaxEntries bounds how many accepted bodies the window remembers.
	DedupMaxEntries int `mapstructure:"dedup_max_entries"`

	// prevent unkeyed literal initialization
	_ struct{}
}

var _ confmap.Validator = (*Config)(nil)

func createDefaultConfig() *Config {
	return &Config{
		Webhook: configoptional.Default(defaultWebhookConfig()),
		File:    configoptional.Default(filetail.NewDefaultConfig()),
	}
}

func defaultWebhookConfig() WebhookConfig {
	server := confighttp.NewDefaultServerConfig()
	server.NetAddr.Endpoint = defaultEndpoint
	// Flipt sends small bodies at once; a sender that drips its request
	// must not hold a connection open for minutes.
	server.ReadHeaderTimeout = defaultReadHeaderTimeout
	server.ReadTimeout = defaultReadTimeout
	return WebhookConfig{
		ServerConfig:    server,
		Path:            defaultPath,
		HealthPath:      defaultHealthPath,
		DedupMaxEntries: defaultDedupMaxEntries,
	}
}

// webhook returns the webhook settings to run, or nil when the webhook is
// off: it runs when configured, or when nothing at all is configured.
func (c *Config) webhook() *WebhookConfig {
	if c.Webhook.HasValue() {
		return c.Webhook.Get()
	}
	if c.File.HasValue() {
		return nil
	}
	w := defaultWebhookConfig()
	return &w
}

// Validate checks the receiver's own fields; the nested sections validate
// themselves.
func (c *Config) Validate() error {
	w := c.webhook()
	if w == nil {
		return nil
	}
	var errs []error
	if w.NetAddr.Endpoint == "" {
		errs = append(errs, errors.New("webhook::endpoint: must not be empty"))
	}
	if !strings.HasPrefix(w.Path, "/") {
		errs = append(errs, fmt.Errorf("webhook::path: %q must start with /", w.Path))
	}
	if w.HealthPath != "" && !strings.HasPrefix(w.HealthPath, "/") {
		errs = append(errs, fmt.Errorf("webhook::health_path: %q must start with / (or be empty to turn it off)", w.HealthPath))
	}
	if w.HealthPath == w.Path {
		errs = append(errs, fmt.Errorf("webhook::health_path: must differ from path %q", w.Path))
	}
	if w.DedupWindow < 0 {
		errs = append(errs, fmt.Errorf("webhook::dedup_window: must not be negative, got %v", w.DedupWindow))
	}
	if w.DedupWindow > 0 && w.DedupMaxEntries <= 0 {
		errs = append(errs, fmt.Errorf("webhook::dedup_max_entries: must be positive when dedup_window is set, got %d", w.DedupMaxEntries))
	}
	return errors.Join(errs...)
}

// ConnectorConfig is the flipt_audit connector's configuration; it has no
// options.
type ConnectorConfig struct{}
