package auditevent

import (
	"fmt"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
)

// decodeBare decodes body with a decoder that was told nothing by a scan.
func decodeBare(body []byte) (plog.LogRecordSlice, int, error) {
	logs := plog.NewLogRecordSlice()
	d := decoder{data: body, lim: DefaultLimits()}
	n, err := d.allRecords(logs.AppendEmpty, SourceWebhook, observed)
	return logs, n, err
}

// sameRecords fails unless the two slices hold equal records.
func sameRecords(t *testing.T, body []byte, got, want plog.LogRecordSlice) {
	t.Helper()
	if got.Len() != want.Len() {
		t.Fatalf("%d records, want %d", got.Len(), want.Len())
	}
	for i := range got.Len() {
		g, w := got.At(i), want.At(i)
		if !g.Body().Equal(w.Body()) || !g.Attributes().Equal(w.Attributes()) || g.Timestamp() != w.Timestamp() {
			t.Fatalf("record %d of %.200q:\n%v\n%v", i, body, g.Body().AsRaw(), w.Body().AsRaw())
		}
		var gk, wk []string
		for k := range g.Body().Map().All() {
			gk = append(gk, k)
		}
		for k := range w.Body().Map().All() {
			wk = append(wk, k)
		}
		if strings.Join(gk, ",") != strings.Join(wk, ",") {
			t.Fatalf("record %d: keys %v, want %v", i, gk, wk)
		}
	}
}

// What the scan tells the decoder (object sizes, where its first
// fewStrings strings end) changes nothing it builds: on the captures and
// on bodies of plain, escaped and non-ASCII strings in every place, fewer
// and more strings than the scan keeps, and a plain string too long for
// its length to be kept, the records are those of a decoder told nothing.
func TestScanFactsChangeNothing(t *testing.T) {
	var bodies [][]byte
	for _, r := range fliptcapture.WebhookRequests(t, false) {
		bodies = append(bodies, r.Body)
	}
	bodies = append(bodies, fliptcapture.Lines(t, "audit.log")...)
	generated := len(bodies)
	kinds := []string{`"plain"`, `"esc\"aped"`, `"\u00e9t\u00e9"`, `"été"`, `""`, `["a","\n",{"k\u0030":"v"}]`, `7`}
	for _, n := range []int{1, fewStrings/2 - 3, fewStrings/2 - 2, fewStrings - 1, fewStrings, 2 * fewStrings} {
		for _, kind := range kinds {
			var members []string
			for i := range n {
				key := fmt.Sprintf(`"k%d"`, i)
				if i%3 == 1 {
					key = fmt.Sprintf(`"k\u00e9%d"`, i)
				}
				members = append(members, key+":"+kinds[i%len(kinds)], fmt.Sprintf(`"m%d":%s`, i, kind))
			}
			bodies = append(bodies, []byte(eventWithPayload("{"+strings.Join(members, ",")+"}")))
		}
	}
	long := strings.Repeat("x", notPlainString+10)
	bodies = append(bodies,
		[]byte(eventWithPayload(`{"a":"`+long+`","b":"after"}`)),
		[]byte(eventWithPayload(`{"a":"`+long[:notPlainString-1]+`","b":"after"}`)),
		[]byte(eventWithPayload(`{"a":"`+long[:notPlainString]+`","b":"after"}`)))
	for _, body := range bodies {
		c, err := DefaultLimits().Check(body)
		if err != nil {
			t.Fatalf("%v\n%.200s", err, body)
		}
		got := plog.NewLogRecordSlice()
		n, err := c.DecodeRecords(got.AppendEmpty, SourceWebhook, observed)
		want, wn, werr := decodeBare(body)
		if err != nil || werr != nil || n != wn {
			t.Fatalf("%d, %v; bare %d, %v", n, err, wn, werr)
		}
		sameRecords(t, body, got, want)
		// Each fact is taken by the value it was learnt from: none is
		// left over, so none was taken by another.
		s := newScanner(body, DefaultLimits())
		if _, err := s.allRecords(); err != nil {
			t.Fatal(err)
		}
		d := decoder{data: body, lim: DefaultLimits(), facts: s.facts}
		if _, err := d.allRecords(plog.NewLogRecordSlice().AppendEmpty, SourceWebhook, observed); err != nil {
			t.Fatal(err)
		}
		if d.nextStr != s.facts.ends.n || d.next != s.facts.sizes.n {
			t.Fatalf("decoder took %d of %d string lengths, %d of %d object sizes", d.nextStr, s.facts.ends.n, d.next, s.facts.sizes.n)
		}
	}
	// A payload value, keys sorted, as Flipt's Avro records carry it.
	for _, body := range bodies[generated:] {
		payload := body[strings.Index(string(body), `"payload":`)+len(`"payload":`) : strings.Index(string(body), `,"timestamp"`)]
		got, want := pcommon.NewValueEmpty(), pcommon.NewValueEmpty()
		if err := DefaultLimits().DecodePayloadValue(payload, got); err != nil {
			t.Fatal(err)
		}
		d := decoder{data: payload, sortKeys: true, lim: DefaultLimits()}
		if err := d.oneValue(want, depthPayload+1); err != nil || !got.Equal(want) {
			t.Fatalf("payload value: %v", err)
		}
	}
}
