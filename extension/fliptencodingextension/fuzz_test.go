package fliptencodingextension

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumererror"

	"github.com/otelcol-flipt/otelcol-flipt/internal/auditevent"
)

// Any bytes either decode into one audit record that audit_file can write
// or are refused with a permanent error; never a panic, never a record
// half-built. Seeded with every captured record.
func FuzzUnmarshal(f *testing.F) {
	for _, name := range []string{"protobuf-records.ndjson", "avro-records.ndjson", "protobuf-sr-records.ndjson", "avro-sr-records.ndjson"} {
		for _, r := range readRecords(f, name) {
			f.Add(r.value)
		}
	}
	encs := map[string]*fliptEncoding{
		EncodingProtobuf: newEncoding(f, EncodingProtobuf, nopSettings()),
		EncodingAvro:     newEncoding(f, EncodingAvro, nopSettings()),
	}
	f.Fuzz(func(t *testing.T, value []byte) {
		for name, enc := range encs {
			ld, err := enc.UnmarshalLogs(value)
			if err != nil {
				require.True(t, consumererror.IsPermanent(err), name)
				require.Zero(t, ld.LogRecordCount(), name)
				continue
			}
			require.Equal(t, 1, ld.LogRecordCount(), name)
			body, ok := auditevent.Body(ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0))
			require.True(t, ok, name)
			require.NotEmpty(t, auditevent.Append(nil, body, auditevent.FormatJSON), name)
		}
	})
}
