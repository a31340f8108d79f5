package evaluationmetrics

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/confmap/xconfmap"

	"github.com/otelcol-flipt/otelcol-flipt/connector/evaluationmetrics/internal/metadata"
)

func loadConfig(t *testing.T, name string) (*Config, error) {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	sub, err := cm.Sub(component.NewIDWithName(metadata.Type, name).String())
	require.NoError(t, err)
	cfg := createDefaultConfig().(*Config)
	require.NoError(t, sub.Unmarshal(cfg))
	return cfg, xconfmap.Validate(cfg)
}

func TestConfigLoads(t *testing.T) {
	cfg, err := loadConfig(t, "")
	require.NoError(t, err)
	assert.Equal(t, createDefaultConfig(), cfg)

	cfg, err = loadConfig(t, "custom")
	require.NoError(t, err)
	assert.Equal(t, &Config{
		Labels:               LabelsV1,
		Sources:              Sources{Flipt: false, OpenFeature: true},
		OpenFeatureNamespace: "web",
		FlushInterval:        30 * time.Second,
		SeriesExpiration:     time.Hour,
		MaxSeries:            500,
		MaxLabelLength:       64,
		ResourceKeys:         []string{"service.name"},
		Sampling:             Sampling{DefaultRatio: 0.5, Ratios: map[string]float64{"flipt": 0.1}},
		Dedup:                Dedup{Window: time.Minute, MaxEntries: 1000},
	}, cfg)

	_, err = loadConfig(t, "v2")
	require.NoError(t, err)
}

// Each invalid config names the field at fault.
func TestConfigErrorsNameTheField(t *testing.T) {
	for name, fields := range map[string][]string{
		"bad_labels":   {"labels:"},
		"no_sources":   {"sources:"},
		"bad_numbers":  {"flush_interval:", "series_expiration:", "max_series:", "max_label_length:"},
		"bad_sampling": {"sampling::default_ratio:", "sampling::ratios::flipt:"},
		"bad_dedup":    {"dedup::max_entries:"},
	} {
		_, err := loadConfig(t, name)
		require.Error(t, err, name)
		for _, f := range fields {
			assert.Contains(t, err.Error(), f, name)
		}
	}
}
