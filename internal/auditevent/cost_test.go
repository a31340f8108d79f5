package auditevent

import (
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
)

// costShape is a body whose decoding cost is measured.
type costShape struct {
	name  string
	body  []byte
	flipt bool // a shape Flipt sends, held to 4 bytes per body byte
}

// costShapes returns Flipt-shaped events near size bytes and the worst
// shapes an attacker can send under the limits.
func costShapes(size int) []costShape {
	var meta strings.Builder
	for i := 0; meta.Len() < size; i++ {
		if i > 0 {
			meta.WriteByte(',')
		}
		fmt.Fprintf(&meta, `"label-%d":"owner team %d, rollout notes and a link https://example.com/flags/%d"`, i, i, i)
	}
	// An attachment is a JSON string in the event, written escaped by
	// Flipt's webhook (\u003c for '<'), as the webhook sends it.
	attachment := strings.Repeat(`{\"color\":\"#ff0000\",\"html\":\"\u003cb\u003ebold\u003c/b\u003e\"},`, size/64)
	members := make([]string, 0, size/8)
	for i := 0; len(members)*8 < size; i++ {
		members = append(members, fmt.Sprintf(`"%x":0`, i))
	}
	depth := 9999 // within encoding/json's 10,000, to compare
	return []costShape{
		{"flag_big_metadata", []byte(eventWithPayload(`{"key":"big","metadata":{` + meta.String() + `}}`)), true},
		{"variant_big_attachment", []byte(eventWithPayload(`{"key":"v","attachment":"[` + attachment + `0]"}`)), true},
		{"array_of_zeros", []byte(eventWithPayload(zeros(size / 2))), false},
		{"deep_nesting", []byte(eventWithPayload(strings.Repeat("[", depth) + strings.Repeat("]", depth))), false},
		{"many_small_members", []byte(eventWithPayload("{" + strings.Join(members, ",") + "}")), false},
		{"long_string", []byte(eventWithPayload(`"` + strings.Repeat("x", size) + `"`)), false},
	}
}

// allocated returns the bytes allocated by f.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// Flipt-shaped events, the captures and large ones, cost at most 4 bytes
// of allocation per body byte to decode (all of it, kept or not).
func TestDecodeCostFliptShaped(t *testing.T) {
	var shapes []costShape
	for _, r := range fliptcapture.WebhookRequests(t, false) {
		shapes = append(shapes, costShape{"capture", r.Body, true})
	}
	for _, s := range costShapes(4 << 20) {
		if s.flipt {
			shapes = append(shapes, s)
		}
	}
	var capBytes, capAlloc uint64
	for _, s := range shapes {
		n := allocated(func() {
			if _, err := DecodeRecords(s.body, plog.NewLogRecordSlice().AppendEmpty, SourceWebhook, observed); err != nil {
				t.Fatal(err)
			}
		})
		if s.name == "capture" {
			capBytes += uint64(len(s.body))
			capAlloc += n
			continue
		}
		perByte := float64(n) / float64(len(s.body))
		t.Logf("%s: %d bytes, %.2f B allocated per body byte", s.name, len(s.body), perByte)
		if perByte > 4 {
			t.Errorf("%s: %.2f B per body byte, want at most 4", s.name, perByte)
		}
	}
	// A small event's cost is mostly the fixed records; count them together.
	t.Logf("captures: %d bytes, %.2f B allocated per body byte", capBytes, float64(capAlloc)/float64(capBytes))
}

// BenchmarkDecodeShapes measures decoding memory per body byte (B/byte)
// beside encoding/json into any, for Flipt-shaped events and the worst
// shapes under the limits. Rerun with
//
//	go test -run '^$' -bench DecodeShapes -benchmem ./internal/auditevent/
func BenchmarkDecodeShapes(b *testing.B) {
	for _, s := range costShapes(2 << 20) {
		b.Run(s.name+"/flipt", func(b *testing.B) {
			benchBytes(b, s.body, func() {
				if _, err := DecodeRecords(s.body, plog.NewLogRecordSlice().AppendEmpty, SourceWebhook, observed); err != nil {
					b.Fatal(err)
				}
			})
		})
		b.Run(s.name+"/encoding_json", func(b *testing.B) {
			benchBytes(b, s.body, func() {
				var v any
				if err := json.Unmarshal(s.body, &v); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
	// Over the default element budget, refused by the scan.
	over := []byte(eventWithPayload(zeros(DefaultMaxElements + 1)))
	b.Run("over_max_elements/flipt", func(b *testing.B) {
		benchBytes(b, over, func() {
			if _, err := DecodeRecords(over, plog.NewLogRecordSlice().AppendEmpty, SourceWebhook, observed); err == nil {
				b.Fatal("accepted")
			}
		})
	})
}

func benchBytes(b *testing.B, body []byte, f func()) {
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	n := 0
	for b.Loop() {
		f()
		n++
	}
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(n)/float64(len(body)), "B/byte")
}
