package auditevent

import (
	"errors"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
)

// eventWithPayload returns an event whose payload is the given JSON.
func eventWithPayload(payload string) string {
	return `{"version":"0.2","type":"flag","action":"updated","metadata":{"actor":{"authentication":"none"}},"payload":` +
		payload + `,"timestamp":"2026-01-01T00:00:00Z"}`
}

// zeros returns a JSON array of n zeros.
func zeros(n int) string {
	return "[" + strings.Repeat("0,", n-1) + "0]"
}

// countValues counts the values of a built tree as the scan counts JSON
// values: every object, array and scalar, null included.
func countValues(v pcommon.Value) int {
	n := 1
	switch v.Type() {
	case pcommon.ValueTypeMap:
		for _, m := range v.Map().All() {
			n += countValues(m)
		}
	case pcommon.ValueTypeSlice:
		for _, e := range v.Slice().All() {
			n += countValues(e)
		}
	}
	return n
}

// The scan counts exactly the values the decoder builds, on every capture:
// max_elements bounds the tree that would be built.
func TestCheckCountsTheBuiltValues(t *testing.T) {
	bodies := [][]byte{[]byte(eventWithPayload(`{"a":[1,2.5,"x",true,null,{}],"b":[]}`))}
	for _, r := range fliptcapture.WebhookRequests(t, false) {
		bodies = append(bodies, r.Body)
	}
	bodies = append(bodies, fliptcapture.Lines(t, "audit.log")...)
	for _, body := range bodies {
		c, err := DefaultLimits().Check(body)
		if err != nil {
			t.Fatalf("%v\n%s", err, body)
		}
		logs := plog.NewLogRecordSlice()
		if _, err := c.DecodeRecords(logs.AppendEmpty, SourceWebhook, observed); err != nil {
			t.Fatal(err)
		}
		built := 0
		for _, lr := range logs.All() {
			built += countValues(lr.Body())
		}
		if c.Elements != built {
			t.Fatalf("scan counted %d values, the decoder built %d\n%s", c.Elements, built, body)
		}
		if c.Elements > DefaultMaxElements/1000 {
			t.Errorf("a captured event holds %d values, within a thousandth of the default max_elements", c.Elements)
		}
	}
}

// A body over max_elements is refused naming the limit, with no
// allocation beyond the error: nothing of its tree is built.
func TestMaxElementsRefusedBeforeBuilding(t *testing.T) {
	lim := Limits{MaxElements: 1000}
	c, err := lim.Check([]byte(eventWithPayload("[]")))
	if err != nil {
		t.Fatal(err)
	}
	fixed := c.Elements // the event's own values, the payload array included
	at := []byte(eventWithPayload(zeros(1000 - fixed)))
	over := []byte(eventWithPayload(zeros(1000 - fixed + 1)))

	if _, err := lim.DecodeRecords(at, plog.NewLogRecordSlice().AppendEmpty, SourceWebhook, observed); err != nil {
		t.Fatalf("at max_elements: %v", err)
	}
	_, err = lim.DecodeRecords(over, plog.NewLogRecordSlice().AppendEmpty, SourceWebhook, observed)
	var le *LimitError
	if !errors.As(err, &le) || le.Limit != "max_elements" || !strings.Contains(err.Error(), "JSON values exceed max_elements 1000") {
		t.Fatalf("over max_elements: %v", err)
	}

	big := []byte(eventWithPayload(zeros(1 << 20)))
	lim = Limits{MaxElements: 1 << 19}
	allocs := testing.AllocsPerRun(5, func() {
		if _, err := lim.Check(big); err == nil {
			t.Fatal("accepted")
		}
	})
	if allocs > 4 {
		t.Errorf("refusing 2 MiB of zeros over max_elements allocated %v times", allocs)
	}
}

// What is not an event is refused by the scan, with Fill's words, before
// a tree is built however large the body.
func TestCheckRefusesNonEventsEarly(t *testing.T) {
	big := zeros(1 << 20)
	for _, tc := range []struct{ name, body, want string }{
		{"no version", `{"type":"flag","action":"created","payload":` + big + `,"timestamp":"2026-01-01T00:00:00Z"}`, `missing "version"`},
		{"version not a string", `{"version":2,"type":"flag","action":"created","payload":` + big + `,"timestamp":"2026-01-01T00:00:00Z"}`, `"version" must be a non-empty string`},
		{"empty type", `{"version":"0.2","type":"","action":"created","payload":` + big + `,"timestamp":"2026-01-01T00:00:00Z"}`, `"type" must be a non-empty string`},
		{"bad timestamp", `{"version":"0.2","type":"flag","action":"created","payload":` + big + `,"timestamp":"yesterday"}`, `timestamp "yesterday" is not RFC 3339`},
		{"status not a string", `{"version":"0.2","type":"flag","action":"created","status":1,"payload":` + big + `,"timestamp":"2026-01-01T00:00:00Z"}`, `"status" must be a string`},
		{"metadata not an object", `{"version":"0.2","type":"flag","action":"created","metadata":[],"payload":` + big + `,"timestamp":"2026-01-01T00:00:00Z"}`, `"metadata" must be an object`},
		{"actor not an object", `{"version":"0.2","type":"flag","action":"created","metadata":{"actor":"x"},"payload":` + big + `,"timestamp":"2026-01-01T00:00:00Z"}`, `metadata.actor must be an object`},
		{"not an object", big, "expected an audit event object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := []byte(tc.body)
			var err error
			allocs := testing.AllocsPerRun(3, func() { _, err = DefaultLimits().Check(body) })
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
			// The error's own; the array would be a million.
			if allocs > 16 {
				t.Errorf("refusing it allocated %v times", allocs)
			}
			// The decoder alone, after building, agrees.
			d := decoder{data: body, lim: DefaultLimits()}
			if _, derr := d.allRecords(plog.NewLogRecordSlice().AppendEmpty, SourceWebhook, observed); derr == nil || derr.Error() != err.Error() {
				t.Errorf("decoder says %v, scan %v", derr, err)
			}
		})
	}
}

// The span event path shares one max_elements budget between actor and
// payload, refused as a limit before either is built.
func TestSpanEventMaxElements(t *testing.T) {
	lim := Limits{MaxElements: 100}
	// The actor holds 2 values, the payload array one more than its zeros.
	span, ev := spanEventWith(`{"authentication":"none"}`, zeros(97))
	if err := lim.RecordFromSpanEvent(span, ev, plog.NewLogRecord(), observed); err != nil {
		t.Fatalf("100 values: %v", err)
	}
	span, ev = spanEventWith(`{"authentication":"none"}`, zeros(98))
	err := lim.RecordFromSpanEvent(span, ev, plog.NewLogRecord(), observed)
	var le *LimitError
	if !errors.As(err, &le) || le.Limit != "max_elements" || !strings.Contains(err.Error(), spanAttrPayload) {
		t.Fatalf("over max_elements: %v", err)
	}
}
