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

	"github.com/otelcol-flipt/otelcol-flipt/internal/auditevent"
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
	// defaultHoldTimeout bounds the wait for the next consumer, below
	// confighttp's default write_timeout (30s): a request held past the
	// server's write deadline would be written but never answered, and
	// Flipt would send the event again.
	defaultHoldTimeout = 20 * time.Second
	// minAnswerMargin is the least time between the end of a hold and the
	// write deadline, to answer 503 in.
	minAnswerMargin = time.Second
	// defaultMaxInFlightBytes bounds the bodies being read and the records
	// being built across all webhook requests: twice max_request_body_size,
	// so that a body of unknown length within it fits alone while its
	// buffer doubles; an attack of many large bodies does not.
	defaultMaxInFlightBytes = 64 << 20
	// defaultMaxConcurrentRequests bounds the requests in progress. Flipt
	// sends one event per request, a few at a time.
	defaultMaxConcurrentRequests = 32
	// defaultAdmissionWait is how long a request beyond them waits for a
	// slot: many Flipt replicas sharing one collector each send one event
	// at a time, and a short wait serves a burst of them instead of
	// sending each to its retry backoff (1 s, then 2, 4, 8: after five
	// refusals Flipt drops the event).
	defaultAdmissionWait = 5 * time.Second
	// confighttpDefaultMaxBody is the max_request_body_size confighttp
	// applies when it is not set.
	confighttpDefaultMaxBody = 20 << 20
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
	// MaxDepth is the deepest nesting of objects and arrays accepted in an
	// event (the event object is level 1), on both sources.
	MaxDepth int `mapstructure:"max_depth"`
	// MaxMembers is the most members one object of an event may have, on
	// both sources.
	MaxMembers int `mapstructure:"max_members"`
	// MaxElements is the most JSON values of every kind one webhook body
	// or file line may hold, counted before any is built.
	MaxElements int `mapstructure:"max_elements"`

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
	// HoldTimeout is the longest a request waits for the next consumer
	// before it is answered 503 (Retry-After); it must end at least 1s
	// before write_timeout.
	HoldTimeout time.Duration `mapstructure:"hold_timeout"`
	// MaxInFlightBytes bounds the bytes of the bodies being read, and of
	// the records being built from them, across all requests; a request
	// that does not fit is answered 503 (Retry-After) before its body is
	// read, or as soon as a body of unknown length outgrows it.
	MaxInFlightBytes int64 `mapstructure:"max_in_flight_bytes"`
	// MaxConcurrentRequests bounds the requests in progress on the events
	// path; one more is answered 503 (Retry-After) before its body is read.
	MaxConcurrentRequests int `mapstructure:"max_concurrent_requests"`
	// AdmissionWait is how long a request beyond max_concurrent_requests
	// waits for one of them to end before it is answered 503
	// (Retry-After); the wait counts against hold_timeout and ends with it
	// at the latest. 0 refuses it at once.
	AdmissionWait time.Duration `mapstructure:"admission_wait"`

	// prevent unkeyed literal initialization
	_ struct{}
}

var _ confmap.Validator = (*Config)(nil)

func createDefaultConfig() *Config {
	return &Config{
		Webhook:     configoptional.Default(defaultWebhookConfig()),
		File:        configoptional.Default(filetail.NewDefaultConfig()),
		MaxDepth:    auditevent.DefaultMaxDepth,
		MaxMembers:  auditevent.DefaultMaxMembers,
		MaxElements: auditevent.DefaultMaxElements,
	}
}

func defaultWebhookConfig() WebhookConfig {
	server := confighttp.NewDefaultServerConfig()
	server.NetAddr.Endpoint = defaultEndpoint
	// Flipt sends small bodies at once; a sender that drips its request
	// must not hold a connection open for minutes.
	server.ReadHeaderTimeout = defaultReadHeaderTimeout
	server.ReadTimeout = defaultReadTimeout
	// One event Flipt can send fits, as on every source.
	server.MaxRequestBodySize = auditevent.DefaultMaxEventSize
	return WebhookConfig{
		ServerConfig:          server,
		Path:                  defaultPath,
		HealthPath:            defaultHealthPath,
		DedupMaxEntries:       defaultDedupMaxEntries,
		HoldTimeout:           defaultHoldTimeout,
		MaxInFlightBytes:      defaultMaxInFlightBytes,
		MaxConcurrentRequests: defaultMaxConcurrentRequests,
		AdmissionWait:         defaultAdmissionWait,
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
	errs := validateLimits(c.MaxDepth, c.MaxMembers, c.MaxElements)
	w := c.webhook()
	if w == nil {
		return errors.Join(errs...)
	}
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
	maxBody := w.MaxRequestBodySize
	if maxBody <= 0 {
		maxBody = confighttpDefaultMaxBody
	}
	switch {
	case w.MaxInFlightBytes <= 0:
		errs = append(errs, fmt.Errorf("webhook::max_in_flight_bytes: must be positive, got %d", w.MaxInFlightBytes))
	case w.MaxInFlightBytes < 2*maxBody:
		errs = append(errs, fmt.Errorf("webhook::max_in_flight_bytes: %d is less than twice max_request_body_size %d "+
			"(a body of unknown length is read into a buffer that doubles), so a body within that size could be refused "+
			"when it comes alone", w.MaxInFlightBytes, maxBody))
	}
	if w.MaxConcurrentRequests <= 0 {
		errs = append(errs, fmt.Errorf("webhook::max_concurrent_requests: must be positive, got %d", w.MaxConcurrentRequests))
	}
	for _, d := range []struct {
		field string
		v     time.Duration
	}{
		{"read_timeout", w.ReadTimeout}, {"read_header_timeout", w.ReadHeaderTimeout},
		{"write_timeout", w.WriteTimeout}, {"idle_timeout", w.IdleTimeout},
		{"admission_wait", w.AdmissionWait},
	} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("webhook::%s: must not be negative, got %v", d.field, d.v))
		}
	}
	switch {
	case w.HoldTimeout <= 0:
		errs = append(errs, fmt.Errorf("webhook::hold_timeout: must be positive, got %v", w.HoldTimeout))
	case w.WriteTimeout > 0 && w.HoldTimeout > w.WriteTimeout-minAnswerMargin:
		errs = append(errs, fmt.Errorf("webhook::hold_timeout: %v must end at least %v before webhook::write_timeout %v, "+
			"or a held request is cut off unanswered and Flipt sends it again", w.HoldTimeout, minAnswerMargin, w.WriteTimeout))
	}
	return errors.Join(errs...)
}

// answerGrace is how long after its hold a request still waits for the
// next consumer to return, before it is answered 503 regardless: half the
// margin left before the write deadline.
func (w *WebhookConfig) answerGrace() time.Duration {
	if w.WriteTimeout <= 0 {
		return minAnswerMargin
	}
	return (w.WriteTimeout - w.HoldTimeout) / 2
}

func validateLimits(depth, members, elements int) []error {
	var errs []error
	if depth <= 0 {
		errs = append(errs, fmt.Errorf("max_depth: must be positive, got %d", depth))
	}
	if members <= 0 {
		errs = append(errs, fmt.Errorf("max_members: must be positive, got %d", members))
	}
	if elements <= 0 {
		errs = append(errs, fmt.Errorf("max_elements: must be positive, got %d", elements))
	}
	return errs
}

func (c *Config) limits() auditevent.Limits {
	return auditevent.Limits{MaxDepth: c.MaxDepth, MaxMembers: c.MaxMembers, MaxElements: c.MaxElements}
}

// ConnectorConfig is the flipt_audit connector's configuration.
type ConnectorConfig struct {
	// MaxDepth is the deepest nesting accepted in a rebuilt event (the event
	// object is level 1, its payload level 2).
	MaxDepth int `mapstructure:"max_depth"`
	// MaxMembers is the most members one object of an event may have.
	MaxMembers int `mapstructure:"max_members"`
	// MaxElements is the most JSON values of every kind the actor and
	// payload of one span event may hold together, counted before any is
	// built.
	MaxElements int `mapstructure:"max_elements"`

	// prevent unkeyed literal initialization
	_ struct{}
}

var _ confmap.Validator = (*ConnectorConfig)(nil)

func createDefaultConnectorConfig() *ConnectorConfig {
	return &ConnectorConfig{
		MaxDepth:    auditevent.DefaultMaxDepth,
		MaxMembers:  auditevent.DefaultMaxMembers,
		MaxElements: auditevent.DefaultMaxElements,
	}
}

// Validate checks the limits.
func (c *ConnectorConfig) Validate() error {
	return errors.Join(validateLimits(c.MaxDepth, c.MaxMembers, c.MaxElements)...)
}
