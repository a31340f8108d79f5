package auditevent

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
)

// FuzzDecodeRecords feeds arbitrary bodies to the decoder shared by the
// webhook and the file tailer. It must never panic, and whatever it accepts
// must be a fixed point: encoding an accepted event and decoding that again
// gives the same bytes in every format. What the scan tells the decoder
// must change nothing it builds.
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
		// The webhook reuses a request's buffer for the next request, so no
		// record may refer to the bytes it was decoded from: they are
		// overwritten once decoded, and the records must not change.
		in := bytes.Clone(body)
		n, err := DecodeRecords(in, logs.AppendEmpty, SourceWebhook, observed)
		if err != nil {
			return
		}
		if n != logs.Len() {
			t.Fatalf("decoded %d events into %d records", n, logs.Len())
		}
		// What the scan told the decoder changes nothing it builds.
		bare, _, err := decodeBare(body)
		if err != nil {
			t.Fatalf("a decoder told nothing refuses it: %v", err)
		}
		sameRecords(t, body, logs, bare)
		var before [][]byte
		for _, lr := range logs.All() {
			rec, _ := Body(lr)
			before = append(before, Append(nil, rec, FormatJSON))
		}
		for i := range in {
			in[i] = 0xA5
		}
		for i, lr := range logs.All() {
			body, ok := Body(lr)
			if !ok {
				t.Fatal("accepted event is not an audit record")
			}
			if after := Append(nil, body, FormatJSON); !bytes.Equal(after, before[i]) {
				t.Fatalf("record %d changed when its input was overwritten:\n%s\n%s", i, before[i], after)
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

// FuzzScanAgreesWithDecoder checks the pre-scan against the decoder it
// stands in front of, under small limits so that every limit is reached:
// the scan must refuse whatever the decoder alone refuses (but a duplicate
// key, which only building finds) with the same error, and pass the rest;
// and what it passes must build into no more values than it counted.
func FuzzScanAgreesWithDecoder(f *testing.F) {
	for _, r := range fliptcapture.WebhookRequests(f, false)[:3] {
		f.Add(r.Body, uint8(6), uint8(8), uint16(200))
	}
	f.Add([]byte(eventWithPayload(zeros(50))), uint8(4), uint8(4), uint16(40))
	f.Add([]byte(eventWithPayload(`{"a":{"b":{"c":[[[1e400]]]}}}`)), uint8(5), uint8(4), uint16(40))
	f.Add([]byte(`[{"version":"\u0030","type":"t","action":"a","timestamp":"2026-01-01T00:00:00Z","metadata":null},{}]`), uint8(3), uint8(8), uint16(20))
	f.Add([]byte("{\"vers\\u0069on\":\"0.2\",\"type\":\"t\",\"action\":\"a\",\"timestamp\":\"2026-01-01T00:00:00Z\",\"s\":\"\xff\\n\"}"), uint8(3), uint8(8), uint16(20))
	f.Fuzz(func(t *testing.T, body []byte, depth, members uint8, elements uint16) {
		lim := Limits{MaxDepth: int(depth) + 1, MaxMembers: int(members) + 1, MaxElements: int(elements) + 1}
		s := newScanner(body, lim)
		sn, serr := s.allRecords()
		d := decoder{data: body, lim: lim}
		logs := plog.NewLogRecordSlice()
		dn, derr := d.allRecords(logs.AppendEmpty, SourceWebhook, observed)
		if serr != nil {
			var le *LimitError
			if errors.As(serr, &le) && le.Limit == "max_elements" {
				return // the decoder has no element budget
			}
			if derr == nil {
				t.Fatalf("scan refuses what the decoder accepts: %v", serr)
			}
			// Only building finds a duplicate key, possibly before the
			// error the scan found further on.
			if (serr.Error() != derr.Error() || sn != dn) && !strings.Contains(derr.Error(), "duplicate key") {
				t.Fatalf("scan: %d, %v\ndecoder: %d, %v", sn, serr, dn, derr)
			}
			return
		}
		if derr != nil {
			if !strings.Contains(derr.Error(), "duplicate key") {
				t.Fatalf("scan passes what the decoder refuses: %v", derr)
			}
			return
		}
		built := 0
		for _, lr := range logs.All() {
			built += countValues(lr.Body())
		}
		if built != s.elements || s.elements > lim.MaxElements {
			t.Fatalf("scan counted %d values (max %d), the decoder built %d", s.elements, lim.MaxElements, built)
		}
	})
}
