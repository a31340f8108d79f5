package auditevent

import (
	"bytes"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
)

// FuzzDecodeRecords feeds arbitrary bodies to the decoder shared by the
// webhook and the file tailer. It must never panic, and whatever it accepts
// must be a fixed point: encoding an accepted event and decoding that again
// gives the same bytes in every format.
func FuzzDecodeRecords(f *testing.F) {
	for _, r := range fliptcapture.WebhookRequests(f, false) {
		f.Add(r.Body)
	}
	for _, l := range fliptcapture.Lines(f, "audit.log")[:5] {
		f.Add(l)
	}
	f.Add([]byte(`[{"version":"0.1","type":"flag","action":"created","metadata":{},"payload":{"n":1e-7},"timestamp":"2023-01-01T00:00:00+02:00"}]`))
	f.Add([]byte("{\"version\":\"0.2\",\"type\":\"t\",\"action\":\"a\",\"timestamp\":\"2026-01-01T00:00:00Z\",\"x\":\"\\ud83d\\ude00\\u2028\"}\n{}"))
	f.Fuzz(func(t *testing.T, body []byte) {
		logs := plog.NewLogRecordSlice()
		n, err := DecodeRecords(body, logs.AppendEmpty, SourceWebhook, observed)
		if err != nil {
			return
		}
		if n != logs.Len() {
			t.Fatalf("decoded %d events into %d records", n, logs.Len())
		}
		for _, lr := range logs.All() {
			body, ok := Body(lr)
			if !ok {
				t.Fatal("accepted event is not an audit record")
			}
			for _, format := range []Format{FormatJSON, FormatConsole, FormatWebhook} {
				first := Append(nil, body, format)
				again := plog.NewLogRecord()
				if err := DecodeRecord(first, again, SourceWebhook, observed); err != nil {
					t.Fatalf("%v output does not decode: %v\n%s", format, err, first)
				}
				second, _ := Body(again)
				if out := Append(nil, second, format); !bytes.Equal(out, first) {
					t.Fatalf("%v is not a fixed point:\n%s\n%s", format, first, out)
				}
			}
		}
	})
}
