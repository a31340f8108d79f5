package evaluationmetrics // import "github.com/otelcol-flipt/otelcol-flipt/connector/evaluationmetrics"

import (
	"errors"
	"fmt"
	"math"
	"time"

	"go.opentelemetry.io/collector/confmap"
)

// Label naming modes.
const (
	LabelsV1 = "v1" // namespace, flag, match, segment, reason, value, type
	LabelsV2 = "v2" // flipt_namespace, flipt_flag, flipt_environment, ...
)

// Config is the evaluation_metrics connector configuration.
type Config struct {
	// Labels names the output labels as Flipt v1 ("v1") or Flipt v2 ("v2")
	// writes them, so either version's dashboards and analytics query work.
	Labels string `mapstructure:"labels"`
	// Sources says which evaluation telemetry is counted.
	Sources Sources `mapstructure:"sources"`
	// OpenFeatureNamespace is the namespace label of an OpenFeature
	// evaluation that carries no feature_flag.set.id.
	OpenFeatureNamespace string `mapstructure:"openfeature_namespace"`
	// FlushInterval is how often the cumulative metrics are emitted.
	FlushInterval time.Duration `mapstructure:"flush_interval"`
	// SeriesExpiration drops a series (restarting it from 0 later) when
	// nothing was counted in it for this long.
	SeriesExpiration time.Duration `mapstructure:"series_expiration"`
	// MaxSeries caps the series of each metric; evaluations beyond it are
	// counted in that metric's overflow series.
	MaxSeries int `mapstructure:"max_series"`
	// MaxLabelLength cuts longer label values (in bytes, on a UTF-8
	// boundary), so a runaway flag key cannot blow up a series.
	MaxLabelLength int `mapstructure:"max_label_length"`
	// ResourceKeys are the source resource attributes that identify an
	// instance; they are copied to the output resource (job, instance).
	ResourceKeys []string `mapstructure:"resource_keys"`
	// Sampling scales counts from sampled traces to unbiased estimates.
	Sampling Sampling `mapstructure:"sampling"`
	// Dedup counts a span once however often it is sent.
	Dedup Dedup `mapstructure:"dedup"`
}

// Sources switches each kind of evaluation telemetry on or off.
type Sources struct {
	// Flipt counts evaluations Flipt servers made: v1 span attributes and
	// evaluation_response events, v2 flipt.flag_evaluation events. Turn it
	// off when Flipt pushes its own flipt_evaluations_* metrics here.
	Flipt bool `mapstructure:"flipt"`
	// OpenFeature counts feature_flag.evaluation events (span events and
	// log records) of OpenFeature clients, which Flipt's server never sees
	// when they evaluate locally.
	OpenFeature bool `mapstructure:"openfeature"`
}

// Sampling describes how the spans were sampled. Flipt samples by trace-id
// ratio and records the ratio nowhere, so it must be configured here.
type Sampling struct {
	// DefaultRatio is the sampling ratio of services not in Ratios.
	DefaultRatio float64 `mapstructure:"default_ratio"`
	// Ratios maps service.name to its tracing.sampling_ratio.
	Ratios map[string]float64 `mapstructure:"ratios"`
	// Tracestate reads the OpenTelemetry threshold (ot=th:) from a span's
	// tracestate when present; it wins over the configured ratio.
	Tracestate bool `mapstructure:"tracestate"`
}

// Dedup remembers the spans that produced a count, so an export refused
// further down the pipeline and re-sent is not counted again.
type Dedup struct {
	// Window is how long a counted span's identity is remembered; 0 turns
	// deduplication off.
	Window time.Duration `mapstructure:"window"`
	// MaxEntries bounds the identities remembered; when full, the oldest
	// is forgotten early.
	MaxEntries int `mapstructure:"max_entries"`
}

var _ confmap.Validator = (*Config)(nil)

// Validate checks the configuration; every error names its field.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.Labels != LabelsV1 && c.Labels != LabelsV2 {
		add("labels: must be %q or %q, got %q", LabelsV1, LabelsV2, c.Labels)
	}
	if !c.Sources.Flipt && !c.Sources.OpenFeature {
		add("sources: nothing to count (sources::flipt and sources::openfeature are both false)")
	}
	if c.FlushInterval <= 0 {
		add("flush_interval: must be positive, got %s", c.FlushInterval)
	}
	if c.SeriesExpiration <= 0 {
		add("series_expiration: must be positive, got %s", c.SeriesExpiration)
	}
	if c.MaxSeries <= 0 {
		add("max_series: must be positive, got %d", c.MaxSeries)
	}
	if c.MaxLabelLength < 16 {
		add("max_label_length: must be at least 16, got %d", c.MaxLabelLength)
	}
	for i, k := range c.ResourceKeys {
		if k == "" {
			add("resource_keys[%d]: must not be empty", i)
		}
	}
	if !validRatio(c.Sampling.DefaultRatio) {
		add("sampling::default_ratio: must be in (0, 1], got %v", c.Sampling.DefaultRatio)
	}
	for svc, r := range c.Sampling.Ratios {
		if !validRatio(r) {
			add("sampling::ratios::%s: must be in (0, 1], got %v", svc, r)
		}
	}
	switch {
	case c.Dedup.Window < 0:
		add("dedup::window: must not be negative (0 turns deduplication off), got %s", c.Dedup.Window)
	case c.Dedup.Window > 0 && c.Dedup.MaxEntries <= 0:
		add("dedup::max_entries: must be positive when dedup::window is set, got %d", c.Dedup.MaxEntries)
	}
	return errors.Join(errs...)
}

func validRatio(r float64) bool { return r > 0 && r <= 1 && !math.IsNaN(r) }
