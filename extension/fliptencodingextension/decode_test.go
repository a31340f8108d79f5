package fliptencodingextension

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/otelcol-flipt/otelcol-flipt/exporter/auditfile"
	"github.com/otelcol-flipt/otelcol-flipt/extension/fliptencodingextension/internal/metadata"
	"github.com/otelcol-flipt/otelcol-flipt/extension/fliptencodingextension/internal/metadatatest"
	"github.com/otelcol-flipt/otelcol-flipt/internal/auditevent"
)

// runs are the captured Flipt runs: records file, encoding, Flipt's own
// audit.log of the same events.
var runs = []struct{ records, encoding, log string }{
	{"protobuf-records.ndjson", EncodingProtobuf, "audit-protobuf.log"},
	{"protobuf-sr-records.ndjson", EncodingProtobuf, "audit-protobuf-sr.log"},
	{"avro-records.ndjson", EncodingAvro, "audit-avro.log"},
	{"avro-sr-records.ndjson", EncodingAvro, "audit-avro-sr.log"},
}

// writeAuditFile feeds every decoded record, one Logs per Kafka record,
// to a real audit_file exporter and returns the file it wrote.
func writeAuditFile(t *testing.T, logs []plog.Logs) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.log")
	f := auditfile.NewFactory()
	cfg := f.CreateDefaultConfig()
	require.NoError(t, componentConfSet(cfg, path))
	exp, err := f.CreateLogs(context.Background(), exportertest.NewNopSettings(f.Type()), cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
	for _, ld := range logs {
		require.NoError(t, exp.ConsumeLogs(context.Background(), ld))
	}
	require.NoError(t, exp.Shutdown(context.Background()))
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return data
}

// Every captured record of both encodings, with and without the schema
// registry header, becomes the record audit_file writes as Flipt's own
// audit.log line of the same event: the whole file is byte-identical.
func TestCapturedRecordsWriteFliptsAuditLog(t *testing.T) {
	for _, run := range runs {
		t.Run(run.records, func(t *testing.T) {
			tel := componenttest.NewTelemetry()
			t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
			set := nopSettings()
			set.TelemetrySettings = tel.NewTelemetrySettings()
			enc := newEncoding(t, run.encoding, set)
			records := readRecords(t, run.records)
			lines := readLines(t, run.log)
			require.Len(t, records, 51)
			require.Len(t, lines, 51)
			if strings.Contains(run.records, "-sr-") {
				for _, r := range records {
					require.Equal(t, []byte{0, 0, 0, 0, 1}, r.value[:5], "schema id 1 header")
				}
			}
			var logs []plog.Logs
			for i, r := range records {
				ld, err := enc.UnmarshalLogs(r.value)
				require.NoError(t, err, "record %d", i)
				require.Equal(t, 1, ld.LogRecordCount())
				lr := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
				body, ok := auditevent.Body(lr)
				require.True(t, ok)
				assert.Equal(t, lines[i], string(auditevent.Append(nil, body, auditevent.FormatJSON)), "record %d", i)
				typ, _ := lr.Attributes().Get(auditevent.AttrType)
				assert.Equal(t, r.Key, typ.Str(), "the record key is the event type")
				src, _ := lr.Attributes().Get(auditevent.AttrSource)
				assert.Equal(t, SourceKafka, src.Str())
				logs = append(logs, ld)
			}
			want, err := os.ReadFile(filepath.Join(captures, run.log))
			require.NoError(t, err)
			assert.Equal(t, string(want), string(writeAuditFile(t, logs)))
			metadatatest.AssertEqualFliptEncodingEventsDecoded(t, tel, []metricdata.DataPoint[int64]{{
				Attributes: attribute.NewSet(attribute.String("encoding", run.encoding)), Value: 51,
			}}, metricdataAssertOpts()...)
		})
	}
}

// The three-partition run: every record decodes to a line of Flipt's log,
// each exactly once, and each partition keeps the log's order.
func TestCapturedPartitionsKeepOrder(t *testing.T) {
	enc := newEncoding(t, EncodingProtobuf, nopSettings())
	lines := readLines(t, "audit-protobuf-3partitions.log")
	index := map[string][]int{}
	for i, l := range lines {
		index[l] = append(index[l], i)
	}
	seen := map[int]bool{}
	last := map[int32]int{0: -1, 1: -1, 2: -1}
	for _, r := range readRecords(t, "protobuf-3partitions-records.ndjson") {
		ld, err := enc.UnmarshalLogs(r.value)
		require.NoError(t, err)
		body, _ := auditevent.Body(ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0))
		candidates := index[string(auditevent.Append(nil, body, auditevent.FormatJSON))]
		require.NotEmpty(t, candidates, "offset %d of partition %d is no line of the log", r.Offset, r.Partition)
		at := -1
		for _, c := range candidates {
			if !seen[c] && c > last[r.Partition] {
				at = c
				break
			}
		}
		require.GreaterOrEqual(t, at, 0, "partition %d offset %d out of the log's order", r.Partition, r.Offset)
		seen[at], last[r.Partition] = true, at
	}
	assert.Len(t, seen, len(lines))
}

// Values that are no Flipt event are refused with a permanent error that
// says why, counted, and never half-built.
func TestRefusals(t *testing.T) {
	proto := readRecords(t, "protobuf-records.ndjson")[0].value
	avro := readRecords(t, "avro-records.ndjson")[0].value
	for _, tc := range []struct {
		name, encoding string
		value          []byte
		want           string
	}{
		{"protobuf truncated", EncodingProtobuf, proto[:len(proto)-3], "protobuf"},
		{"protobuf of avro", EncodingProtobuf, avro, ""},
		{"protobuf empty", EncodingProtobuf, nil, "version"},
		{"protobuf bad utf-8", EncodingProtobuf, []byte{0x0a, 0x01, 0xff}, "UTF-8"},
		{"avro truncated", EncodingAvro, avro[:len(avro)-10], "avro"},
		{"avro trailing", EncodingAvro, append(append([]byte{}, avro...), 0x02), "after the event"},
		{"avro of protobuf", EncodingAvro, proto, ""},
		{"avro bad union", EncodingAvro, []byte{0x06, '0', '.', '2', 0x02, 'a', 0x02, 'b', 0x08}, "union index"},
		{"json not an event", EncodingJSON, []byte(`{"a":1}`), "missing"},
		{"json garbage", EncodingJSON, []byte(`{`), "invalid JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tel := componenttest.NewTelemetry()
			t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
			set := nopSettings()
			set.TelemetrySettings = tel.NewTelemetrySettings()
			enc := newEncoding(t, tc.encoding, set)
			ld, err := enc.UnmarshalLogs(tc.value)
			require.Error(t, err)
			assert.True(t, consumererror.IsPermanent(err))
			assert.Contains(t, err.Error(), "flipt_encoding "+tc.encoding)
			assert.Contains(t, err.Error(), tc.want)
			assert.Zero(t, ld.LogRecordCount())
			metadatatest.AssertEqualFliptEncodingEventsRefused(t, tel, []metricdata.DataPoint[int64]{{
				Attributes: attribute.NewSet(attribute.String("encoding", tc.encoding)), Value: 1,
			}}, metricdataAssertOpts()...)
		})
	}
}

// Hostile nesting is refused, not recursed into without end.
func TestProtobufDepthBounded(t *testing.T) {
	enc := newEncoding(t, EncodingProtobuf, nopSettings())
	// Value{list_value: ListValue{values: [Value{list_value: ...}]}} nested
	// past the limit, inside the payload Struct {"k": ...}.
	inner := []byte{}
	for range maxDepth + 2 {
		list := append([]byte{0x0a}, appendLen(nil, inner)...) // ListValue.values
		inner = append([]byte{0x32}, appendLen(nil, list)...)  // Value.list_value
	}
	entry := append([]byte{0x0a, 0x01, 'k', 0x12}, appendLen(nil, inner)...)
	payload := append([]byte{0x0a}, appendLen(nil, entry)...)
	value := append([]byte("\x0a\x030.2\x12\x04flag\x1a\x07created\x32\x06\x08\xe9\xb0\xbc\xd8\x06\x2a"), appendLen(nil, payload)...)
	_, err := enc.UnmarshalLogs(value)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "deeper")
}

func appendLen(dst, b []byte) []byte {
	n := uint64(len(b))
	for n >= 0x80 {
		dst = append(dst, byte(n)|0x80)
		n >>= 7
	}
	return append(append(dst, byte(n)), b...)
}

var _ = metadata.Type
