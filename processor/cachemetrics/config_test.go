package cachemetrics

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/otelcol-flipt/otelcol-flipt/processor/cachemetrics/internal/metadata"
)

func loadConfig(t *testing.T, name string) (*Config, error) {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	cfg := NewFactory().CreateDefaultConfig()
	sub, err := cm.Sub(component.NewIDWithName(metadata.Type, name).String())
	require.NoError(t, err)
	require.NoError(t, sub.Unmarshal(cfg))
	return cfg.(*Config), confmap.Validate(cfg)
}

func TestConfigDefaults(t *testing.T) {
	cfg, err := loadConfig(t, "")
	require.NoError(t, err)
	assert.Equal(t, createDefaultConfig(), cfg)
	assert.Equal(t, 15*time.Second, cfg.FlushInterval)
	assert.Empty(t, cfg.inferenceRules(), "no inference rules without the preset")
}

func TestConfigPreset(t *testing.T) {
	cfg, err := loadConfig(t, "flipt")
	require.NoError(t, err)
	assert.Equal(t, fliptRules(), cfg.inferenceRules())
}

func TestConfigCustom(t *testing.T) {
	cfg, err := loadConfig(t, "custom")
	require.NoError(t, err)
	want := &Config{
		FlushInterval:    30 * time.Second,
		SeriesExpiration: time.Hour,
		MaxSeries:        50,
		ResourceKeys:     []string{"service.name"},
		Metrics:          MetricNames{Hit: "app.cache.hit", Miss: "app.cache.miss", Error: "app.cache.error"},
		AttributeRules: AttributeRules{
			Enabled:         true,
			HitAttributes:   []string{"app.cache.hit"},
			ErrorAttributes: []string{"app.cache.error"},
			Cache:           LabelFrom{Attributes: []string{"app.cache.name"}, Default: "local"},
			Type:            LabelFrom{Attributes: []string{}, Default: "item"},
		},
		MaxLabelValueLength: 64,
		Inference: Inference{
			Wait:       500 * time.Millisecond,
			MaxEntries: 10,
			EntryTTL:   10 * time.Second,
			Backend: BackendMatcher{AnyOf: []AttributeCondition{
				{Key: "db.system.name", Values: []string{"postgresql", "sqlite"}},
			}},
			Rules: []InferenceRule{{SpanNames: []string{"flipt.evaluation.EvaluationService/*"}, Cache: "redis", Type: "evaluation"}},
		},
		Dedup: Dedup{Window: time.Minute, MaxEntries: 500},
	}
	assert.Equal(t, want, cfg)
}

func TestConfigDedupOff(t *testing.T) {
	cfg, err := loadConfig(t, "dedup_off")
	require.NoError(t, err)
	assert.Zero(t, cfg.Dedup.Window)
	assert.Nil(t, newDedup(cfg.Dedup), "window 0: no table")
}

func TestConfigErrorsNameTheField(t *testing.T) {
	cases := map[string][]string{
		"bad_preset":        {"preset: unknown preset"},
		"bad_numbers":       {"flush_interval:", "max_series:", "max_label_value_length: must not be negative", "inference::wait:"},
		"bad_rule":          {"inference::rules[0]::span_names:", "inference::rules[0]::cache:"},
		"no_rules":          {"attribute_rules::enabled: no rules left"},
		"bad_names":         {"metrics::error: must not be empty", `metrics: "same" is used by both`},
		"bad_ttl":           {"inference::entry_ttl: must be at least inference::wait"},
		"too_many_keys":     {"attribute_rules: 67 attribute keys", "at most 64"},
		"bad_dedup":         {"dedup::window: must not be negative (0 turns deduplication off), got -1s"},
		"bad_dedup_entries": {"dedup::max_entries: must be positive when dedup::window is set, got 0"},
		"bad_dedup_window":  {"dedup::window: must be at least inference::wait (2s), got 1s"},
	}
	for name, wants := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := loadConfig(t, name)
			require.Error(t, err)
			for _, w := range wants {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}
