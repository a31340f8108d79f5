package fliptencodingextension

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/plog"
)

// The json encoding writes what the binary ones read as Flipt's log sink
// lines, and reads those lines back into records that write the same
// bytes: the hand-off through Kafka keeps every event as Flipt wrote it.
func TestJSONRoundTrip(t *testing.T) {
	proto := newEncoding(t, EncodingProtobuf, nopSettings())
	js := newEncoding(t, EncodingJSON, nopSettings())
	want, err := os.ReadFile(filepath.Join(captures, "audit-protobuf.log"))
	require.NoError(t, err)

	all := plog.NewLogs()
	for _, r := range readRecords(t, "protobuf-records.ndjson") {
		ld, err := proto.UnmarshalLogs(r.value)
		require.NoError(t, err)
		ld.ResourceLogs().MoveAndAppendTo(all.ResourceLogs())
	}
	out, err := js.MarshalLogs(all)
	require.NoError(t, err)
	assert.Equal(t, string(want), string(out))

	back, err := js.UnmarshalLogs(out)
	require.NoError(t, err)
	require.Equal(t, 51, back.LogRecordCount())
	again, err := js.MarshalLogs(back)
	require.NoError(t, err)
	assert.Equal(t, string(want), string(again))
}

// Writing is json only, and a record that is no audit event is refused
// rather than dropped.
func TestMarshalRefusals(t *testing.T) {
	_, err := newEncoding(t, EncodingProtobuf, nopSettings()).MarshalLogs(plog.NewLogs())
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err))

	ld := plog.NewLogs()
	ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr("hello")
	_, err = newEncoding(t, EncodingJSON, nopSettings()).MarshalLogs(ld)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not a Flipt audit event")
}
