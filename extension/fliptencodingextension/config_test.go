package fliptencodingextension

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/confmap/xconfmap"
)

func TestConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	for _, tc := range []struct {
		id      string
		want    string
		wantErr string
	}{
		{"flipt_encoding", EncodingProtobuf, ""},
		{"flipt_encoding/avro", EncodingAvro, ""},
		{"flipt_encoding/json", EncodingJSON, ""},
		{"flipt_encoding/bad", "xml", `encoding: unknown value "xml"`},
	} {
		t.Run(tc.id, func(t *testing.T) {
			cfg := NewFactory().CreateDefaultConfig()
			sub, err := cm.Sub(tc.id)
			require.NoError(t, err)
			require.NoError(t, sub.Unmarshal(cfg))
			assert.Equal(t, tc.want, cfg.(*Config).Encoding)
			err = xconfmap.Validate(cfg)
			if tc.wantErr == "" {
				assert.NoError(t, err)
			} else {
				assert.ErrorContains(t, err, tc.wantErr)
			}
		})
	}
	assert.ErrorContains(t, (&Config{}).Validate(), "encoding: must be set")
}
