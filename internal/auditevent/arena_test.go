package auditevent

import (
	"bytes"
	"reflect"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
)

// Nothing decoded refers to the body: the webhook reads bodies into
// buffers the next request reuses. Every captured body, and an NDJSON
// batch of them with escapes and numbers, decodes to the same records
// after its bytes are overwritten.
func TestRecordsOutliveTheirBody(t *testing.T) {
	var bodies [][]byte
	var batch []byte
	for _, r := range append(fliptcapture.WebhookRequests(t, false), fliptcapture.WebhookRequests(t, true)...) {
		bodies = append(bodies, r.Body)
		batch = append(append(batch, bytes.TrimSpace(r.Body)...), '\n')
	}
	bodies = append(bodies, batch,
		[]byte(`{"version":"0.2","type":"flag","action":"created","timestamp":"2024-01-01T00:00:00Z",`+
			`"payload":{"k\u00e9y":"a\"b\\c\u2028d","n":-12,"f":1.5e3,"big":123456789012345678901234,"l":["x\ty",7,{"z":"\ud83d\ude00"}]}}`))
	for i, body := range bodies {
		want := decodeAll(t, body)
		buf := bytes.Clone(body)
		ld := plog.NewLogs()
		records := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
		checked, err := DefaultLimits().Check(buf)
		if err != nil {
			t.Fatalf("body %d: %v", i, err)
		}
		if _, err := checked.DecodeRecords(records.AppendEmpty, SourceWebhook, observed); err != nil {
			t.Fatalf("body %d: %v", i, err)
		}
		for j := range buf {
			buf[j] = 'x'
		}
		if got := raw(records); !reflect.DeepEqual(got, want) {
			t.Errorf("body %d: records changed with the body's bytes:\n got %v\nwant %v", i, got, want)
		}
	}
}

func decodeAll(t *testing.T, body []byte) []map[string]any {
	t.Helper()
	records := plog.NewLogRecordSlice()
	if _, err := DecodeRecords(bytes.Clone(body), records.AppendEmpty, SourceWebhook, observed); err != nil {
		t.Fatal(err)
	}
	return raw(records)
}

func raw(records plog.LogRecordSlice) []map[string]any {
	var out []map[string]any
	for _, lr := range records.All() {
		out = append(out, map[string]any{"body": lr.Body().AsRaw(), "attrs": lr.Attributes().AsRaw(),
			"ts": lr.Timestamp(), "sev": lr.SeverityText()})
	}
	return out
}
