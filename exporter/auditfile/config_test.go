package auditfile

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/confmap/xconfmap"

	"github.com/otelcol-flipt/otelcol-flipt/exporter/auditfile/internal/metadata"
)

func load(t *testing.T, name string) (*Config, error) {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	sub, err := cm.Sub(component.NewIDWithName(metadata.Type, name).String())
	require.NoError(t, err)
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	if err := sub.Unmarshal(cfg); err != nil {
		return nil, err
	}
	return cfg, xconfmap.Validate(cfg)
}

func TestLoadConfig(t *testing.T) {
	cfg, err := load(t, "")
	require.NoError(t, err)
	want := NewFactory().CreateDefaultConfig().(*Config)
	want.Path = "/var/log/flipt/audit.log"
	assert.Equal(t, want, cfg)
	assert.Equal(t, "json", cfg.Format)
	assert.Equal(t, "every_batch", cfg.Fsync)
	assert.Equal(t, "0600", cfg.FilePermissions)
	assert.False(t, cfg.QueueConfig.HasValue(), "no queue unless configured")
	assert.True(t, cfg.BackOffConfig.Enabled)

	full, err := load(t, "full")
	require.NoError(t, err)
	assert.Equal(t, "webhook", full.Format)
	assert.Equal(t, "skip", full.OtherRecords)
	assert.Equal(t, 200*time.Millisecond, full.FlushInterval)
	assert.Equal(t, RotationConfig{MaxMegabytes: 10, Interval: 24 * time.Hour, MaxBackups: 30, MaxAge: 2160 * time.Hour, Compress: true}, full.Rotation)
	assert.True(t, full.HashChain)
	assert.Equal(t, 10*time.Second, full.TimeoutConfig.Timeout)
	require.True(t, full.QueueConfig.HasValue())
	assert.Equal(t, "file_storage", full.QueueConfig.Get().StorageID.String())
	assert.Equal(t, 1, full.QueueConfig.Get().NumConsumers, "one consumer keeps the order")
}

// YAML reads an unquoted 0600 as a number; it is refused, never misread.
func TestUnquotedOctalModeIsRejected(t *testing.T) {
	_, err := load(t, "unquoted_mode")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "file_permissions")
}

func TestValidateNamesTheField(t *testing.T) {
	for field, mutate := range map[string]func(*Config){
		"path":                   func(c *Config) { c.Path = "" },
		"format":                 func(c *Config) { c.Format = "yaml" },
		"other_records":          func(c *Config) { c.OtherRecords = "drop" },
		"file_permissions":       func(c *Config) { c.FilePermissions = "rw-------" },
		"fsync":                  func(c *Config) { c.Fsync = "always" },
		"flush_interval":         func(c *Config) { c.Fsync, c.FlushInterval = "on_flush", 0 },
		"rotation.max_megabytes": func(c *Config) { c.Rotation.MaxMegabytes = -1 },
		"rotation.interval":      func(c *Config) { c.Rotation.Interval = time.Millisecond },
		"rotation.max_backups":   func(c *Config) { c.Rotation.MaxBackups = -1 },
		"rotation.max_age":       func(c *Config) { c.Rotation.MaxAge = -time.Hour },
	} {
		cfg := NewFactory().CreateDefaultConfig().(*Config)
		cfg.Path = "a.log"
		require.NoError(t, cfg.Validate())
		mutate(cfg)
		err := cfg.Validate()
		if assert.Error(t, err, field) {
			assert.Contains(t, err.Error(), field+":")
		}
	}
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.Path, cfg.FilePermissions = "a.log", "0400"
	assert.ErrorContains(t, cfg.Validate(), "does not let the collector write")
}

func TestLoadMergeConfig(t *testing.T) {
	def, err := load(t, "")
	require.NoError(t, err)
	assert.Equal(t, MergeConfig{Window: 5 * time.Minute, MaxEntries: 100_000}, def.Merge, "on by default")
	cfg, err := load(t, "merge")
	require.NoError(t, err)
	assert.Equal(t, MergeConfig{Window: 15 * time.Minute, MaxEntries: 500_000}, cfg.Merge)
	off, err := load(t, "merge_off")
	require.NoError(t, err)
	assert.Equal(t, time.Duration(0), off.Merge.Window)
}

func TestValidateNamesMergeFields(t *testing.T) {
	for field, mutate := range map[string]func(*Config){
		"merge.window":      func(c *Config) { c.Merge.Window = -time.Second },
		"merge.max_entries": func(c *Config) { c.Merge.MaxEntries = 0 },
	} {
		cfg := NewFactory().CreateDefaultConfig().(*Config)
		cfg.Path = "a.log"
		mutate(cfg)
		assert.ErrorContains(t, cfg.Validate(), field+":")
	}
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.Path, cfg.Merge = "a.log", MergeConfig{} // off: max_entries is not needed
	assert.NoError(t, cfg.Validate())
}
