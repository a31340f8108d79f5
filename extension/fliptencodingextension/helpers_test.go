package fliptencodingextension

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/extensiontest"

	"github.com/otelcol-flipt/otelcol-flipt/extension/fliptencodingextension/internal/metadata"
)

// captures is the directory of Flipt v1.61.1's Kafka sink captures.
var captures = filepath.Join("..", "..", "testdata", "flipt-v1.61.1", "kafka")

// capturedRecord is one line of a *-records.ndjson capture.
type capturedRecord struct {
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
	Key       string `json:"key_text"`
	ValueB64  string `json:"value_b64"`
	value     []byte
}

func readRecords(t testing.TB, name string) []capturedRecord {
	t.Helper()
	f, err := os.Open(filepath.Join(captures, name))
	require.NoError(t, err)
	defer f.Close()
	var out []capturedRecord
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r capturedRecord
		require.NoError(t, json.Unmarshal(sc.Bytes(), &r))
		r.value, err = base64.StdEncoding.DecodeString(r.ValueB64)
		require.NoError(t, err)
		out = append(out, r)
	}
	require.NoError(t, sc.Err())
	return out
}

// readLines returns the lines of one of Flipt's audit.log captures.
func readLines(t testing.TB, name string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(captures, name))
	require.NoError(t, err)
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

// newEncoding builds the extension from its factory with encoding enc.
func newEncoding(t testing.TB, enc string, set extension.Settings) *fliptEncoding {
	t.Helper()
	f := NewFactory()
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.Encoding = enc
	require.NoError(t, cfg.Validate())
	ext, err := f.Create(context.Background(), set, cfg)
	require.NoError(t, err)
	require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, ext.Shutdown(context.Background())) })
	return ext.(*fliptEncoding)
}

func nopSettings() extension.Settings {
	return extensiontest.NewNopSettings(metadata.Type)
}
