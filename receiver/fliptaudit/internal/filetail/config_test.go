package filetail

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
)

func TestDefaultConfig(t *testing.T) {
	cfg := NewDefaultConfig()
	assert.Equal(t, StartAtBeginning, cfg.StartAt)
	assert.Equal(t, 200*time.Millisecond, cfg.PollInterval)
	assert.Equal(t, 1000, cfg.MaxBatchLines)
	assert.Equal(t, 256, cfg.MaxConcurrentFiles)
	assert.Nil(t, cfg.Storage)
	require.NoError(t, componenttest.CheckConfigStruct(&cfg))
	require.ErrorContains(t, cfg.Validate(), "include:", "include is required")
	cfg.Include = []string{"/var/log/flipt/audit.log"}
	require.NoError(t, cfg.Validate())
}

func TestValidateNamesTheField(t *testing.T) {
	for name, tc := range map[string]struct {
		edit func(*Config)
		want string
	}{
		"bad include":   {func(c *Config) { c.Include = []string{"/a/[b"} }, "include[0]: invalid pattern"},
		"empty include": {func(c *Config) { c.Include = append(c.Include, "") }, "include[1]: empty pattern"},
		"bad exclude":   {func(c *Config) { c.Exclude = []string{"[x"} }, "exclude[0]: invalid pattern"},
		"start_at":      {func(c *Config) { c.StartAt = "middle" }, "start_at:"},
		"poll_interval": {func(c *Config) { c.PollInterval = 0 }, "poll_interval:"},
		"batch":         {func(c *Config) { c.MaxBatchLines = -1 }, "max_batch_lines:"},
		"open files":    {func(c *Config) { c.MaxConcurrentFiles = 0 }, "max_concurrent_files: must be positive"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := NewDefaultConfig()
			cfg.Include = []string{"/var/log/flipt/*.log"}
			tc.edit(&cfg)
			assert.ErrorContains(t, cfg.Validate(), tc.want)
		})
	}
}
