package cachemetrics // import "github.com/otelcol-flipt/otelcol-flipt/processor/cachemetrics"

import (
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/confmap"
)

// PresetFlipt names the built-in inference rules for an unmodified Flipt v1.
const PresetFlipt = "flipt"

// Config is the cache_metrics connector configuration.
type Config struct {
	// Preset appends a named set of inference rules after Inference.Rules.
	// Only "flipt" exists; empty means no preset.
	Preset string `mapstructure:"preset"`
	// FlushInterval is how often the cumulative counters are emitted.
	FlushInterval time.Duration `mapstructure:"flush_interval"`
	// SeriesExpiration drops a series (and restarts it from 0 later) when no
	// lookup was counted in it for this long, so vanished servers disappear.
	SeriesExpiration time.Duration `mapstructure:"series_expiration"`
	// MaxSeries caps the (source instance, cache, type) label sets; lookups
	// beyond it are counted in one overflow series.
	MaxSeries int `mapstructure:"max_series"`
	// MaxLabelValueLength cuts longer label values (cache, type and the
	// resource_keys values) at a UTF-8 boundary and ends them in "...", so a
	// sender cannot make series or scrapes large; 0 means no limit.
	MaxLabelValueLength int `mapstructure:"max_label_value_length"`
	// ResourceKeys are the source resource attributes that identify a server
	// instance; they are copied to the output resource.
	ResourceKeys []string `mapstructure:"resource_keys"`
	// Metrics holds the output metric names.
	Metrics MetricNames `mapstructure:"metrics"`
	// AttributeRules recognises lookups from cache-outcome attributes.
	AttributeRules AttributeRules `mapstructure:"attribute_rules"`
	// Inference recognises lookups by whether they reached a backend.
	Inference Inference `mapstructure:"inference"`
	// Dedup counts a span once however often it is sent.
	Dedup Dedup `mapstructure:"dedup"`
}

// Dedup remembers the spans that produced a count, so an export that is
// refused further down the pipeline and re-sent is not counted again.
type Dedup struct {
	// Window is how long a counted span's identity (trace and span ID) is
	// remembered; 0 turns deduplication off.
	Window time.Duration `mapstructure:"window"`
	// MaxEntries bounds the identities remembered; when full, the oldest is
	// forgotten early.
	MaxEntries int `mapstructure:"max_entries"`
}

// MetricNames are the names of the three output counters.
type MetricNames struct {
	Hit   string `mapstructure:"hit"`
	Miss  string `mapstructure:"miss"`
	Error string `mapstructure:"error"`
}

// AttributeRules describes lookups that state their outcome in attributes.
type AttributeRules struct {
	Enabled bool `mapstructure:"enabled"`
	// SpanEvents also examines span events, not only spans.
	SpanEvents bool `mapstructure:"span_events"`
	// HitAttributes make a span (or event) a lookup: a bool (true = hit) or
	// the string "hit" / "miss". The first one present wins.
	HitAttributes []string `mapstructure:"hit_attributes"`
	// ErrorAttributes turn a lookup into an error when set (true, or a
	// non-empty string other than "false").
	ErrorAttributes []string `mapstructure:"error_attributes"`
	// ErrorOnStatus turns a span lookup into an error when the span status
	// is Error.
	ErrorOnStatus bool `mapstructure:"error_on_status"`
	// Cache and Type say where the two labels come from.
	Cache LabelFrom `mapstructure:"cache"`
	Type  LabelFrom `mapstructure:"type"`
}

// LabelFrom takes a label value from the first attribute present, else Default.
type LabelFrom struct {
	Attributes []string `mapstructure:"attributes"`
	Default    string   `mapstructure:"default"`
}

// Inference describes lookups recognised by their descendants.
type Inference struct {
	// Wait holds a lookup without a backend descendant this long before
	// counting it as a hit, so a batch split upstream cannot turn a miss
	// into a hit.
	Wait time.Duration `mapstructure:"wait"`
	// MaxEntries bounds the table of spans known to have a backend descendant.
	MaxEntries int `mapstructure:"max_entries"`
	// EntryTTL is how long such a mark is kept for an ancestor still to come.
	EntryTTL time.Duration `mapstructure:"entry_ttl"`
	// Backend recognises spans that reached the backing store.
	Backend BackendMatcher `mapstructure:"backend"`
	// Rules are tried in order; the first whose span_names match wins.
	Rules []InferenceRule `mapstructure:"rules"`
}

// BackendMatcher matches a span when any condition holds.
type BackendMatcher struct {
	AnyOf []AttributeCondition `mapstructure:"any_of"`
}

// AttributeCondition holds when the attribute is present and, if Values is
// set, its string form is one of them.
type AttributeCondition struct {
	Key    string   `mapstructure:"key"`
	Values []string `mapstructure:"values"`
}

// InferenceRule makes a span a lookup by name; its labels are static.
type InferenceRule struct {
	// SpanNames are exact names or patterns with '*' (any run of characters).
	SpanNames []string `mapstructure:"span_names"`
	Cache     string   `mapstructure:"cache"`
	Type      string   `mapstructure:"type"`
}

var _ confmap.Validator = (*Config)(nil)

// Validate checks the configuration; every error names its field.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.Preset != "" && c.Preset != PresetFlipt {
		add("preset: unknown preset %q (known: %q)", c.Preset, PresetFlipt)
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
	if c.MaxLabelValueLength < 0 {
		add("max_label_value_length: must not be negative (0 means no limit), got %d", c.MaxLabelValueLength)
	}
	for i, k := range c.ResourceKeys {
		if k == "" {
			add("resource_keys[%d]: must not be empty", i)
		}
	}
	names := map[string]string{}
	for field, n := range map[string]string{"hit": c.Metrics.Hit, "miss": c.Metrics.Miss, "error": c.Metrics.Error} {
		if n == "" {
			add("metrics::%s: must not be empty", field)
			continue
		}
		if other, dup := names[n]; dup {
			add("metrics: %q is used by both %s and %s", n, other, field)
		}
		names[n] = field
	}
	errs = append(errs, c.AttributeRules.validate()...)
	errs = append(errs, c.Inference.validate()...)
	errs = append(errs, c.Dedup.validate(c.Inference.Wait, len(c.inferenceRules()) > 0)...)
	if n := c.scanKeyCount(); n > maxScanKeys {
		add("attribute_rules: %d attribute keys in hit_attributes, error_attributes and inference::backend::any_of; at most %d", n, maxScanKeys)
	}
	if !c.AttributeRules.Enabled && len(c.inferenceRules()) == 0 {
		add("attribute_rules::enabled: no rules left (attribute rules disabled, no inference rules, no preset)")
	}
	return errors.Join(errs...)
}

func (a *AttributeRules) validate() []error {
	if !a.Enabled {
		return nil
	}
	var errs []error
	if len(a.HitAttributes) == 0 {
		errs = append(errs, errors.New("attribute_rules::hit_attributes: must not be empty when attribute rules are enabled"))
	}
	errs = append(errs, nonEmpty("attribute_rules::hit_attributes", a.HitAttributes)...)
	errs = append(errs, nonEmpty("attribute_rules::error_attributes", a.ErrorAttributes)...)
	errs = append(errs, nonEmpty("attribute_rules::cache::attributes", a.Cache.Attributes)...)
	errs = append(errs, nonEmpty("attribute_rules::type::attributes", a.Type.Attributes)...)
	return errs
}

func (in *Inference) validate() []error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if in.Wait < 0 {
		add("inference::wait: must not be negative, got %s", in.Wait)
	}
	if in.MaxEntries <= 0 {
		add("inference::max_entries: must be positive, got %d", in.MaxEntries)
	}
	if in.EntryTTL <= 0 {
		add("inference::entry_ttl: must be positive, got %s", in.EntryTTL)
	}
	if in.EntryTTL < in.Wait {
		// A parked lookup reads its mark when the wait is over.
		add("inference::entry_ttl: must be at least inference::wait (%s), got %s", in.Wait, in.EntryTTL)
	}
	for i, cond := range in.Backend.AnyOf {
		if cond.Key == "" {
			add("inference::backend::any_of[%d]::key: must not be empty", i)
		}
	}
	for i, r := range in.Rules {
		if len(r.SpanNames) == 0 {
			add("inference::rules[%d]::span_names: must not be empty", i)
		}
		errs = append(errs, nonEmpty(fmt.Sprintf("inference::rules[%d]::span_names", i), r.SpanNames)...)
		if r.Cache == "" {
			add("inference::rules[%d]::cache: must not be empty", i)
		}
		if r.Type == "" {
			add("inference::rules[%d]::type: must not be empty", i)
		}
	}
	if len(in.Rules) > 0 && len(in.Backend.AnyOf) == 0 {
		add("inference::backend::any_of: must not be empty when inference rules are set")
	}
	return errs
}

func (d *Dedup) validate(wait time.Duration, inference bool) []error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	switch {
	case d.Window < 0:
		add("dedup::window: must not be negative (0 turns deduplication off), got %s", d.Window)
	case d.Window == 0:
		return nil
	case inference && d.Window < wait:
		// A lookup still waiting must be remembered until it is counted.
		add("dedup::window: must be at least inference::wait (%s), got %s", wait, d.Window)
	}
	if d.MaxEntries <= 0 {
		add("dedup::max_entries: must be positive when dedup::window is set, got %d", d.MaxEntries)
	}
	return errs
}

func nonEmpty(field string, list []string) []error {
	var errs []error
	for i, s := range list {
		if s == "" {
			errs = append(errs, fmt.Errorf("%s[%d]: must not be empty", field, i))
		}
	}
	return errs
}

// inferenceRules are the configured rules followed by the preset's, so a
// configured rule can override a preset one for the same spans.
func (c *Config) inferenceRules() []InferenceRule {
	rules := append([]InferenceRule(nil), c.Inference.Rules...)
	if c.Preset == PresetFlipt {
		rules = append(rules, fliptRules()...)
	}
	return rules
}
