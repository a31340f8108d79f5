package auditevent

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// nestedEvent returns an event whose payload nests levels objects (the
// payload itself being the first), so the event is levels+1 deep.
func nestedEvent(levels int) string {
	return `{"version":"0.2","type":"flag","action":"updated","payload":` +
		strings.Repeat(`{"a":`, levels) + "1" + strings.Repeat("}", levels) +
		`,"timestamp":"2026-01-01T00:00:00Z"}`
}

// wideEvent returns an event whose payload has n members.
func wideEvent(n int) string {
	var b strings.Builder
	b.WriteString(`{"version":"0.2","type":"token","action":"created","payload":{`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"k%d":"v"`, i)
	}
	b.WriteString(`},"timestamp":"2026-01-01T00:00:00Z"}`)
	return b.String()
}

// The default depth is set from encoding/json's limit, with which Flipt's
// sinks read every payload back: check that premise, and that an event as
// deep as Flipt can send is accepted on every path.
func TestDefaultDepthAbovePayloadsFliptCanSend(t *testing.T) {
	var v any
	if err := json.Unmarshal([]byte(strings.Repeat("[", 10000)+strings.Repeat("]", 10000)), &v); err != nil {
		t.Fatalf("encoding/json refuses 10,000 levels: %v", err)
	}
	if err := json.Unmarshal([]byte(strings.Repeat("[", 10001)+strings.Repeat("]", 10001)), &v); err == nil {
		t.Fatal("encoding/json accepts 10,001 levels: the default max_depth must be revisited")
	}

	deepest := nestedEvent(10000) // the payload at encoding/json's limit
	if err := DecodeRecord([]byte(deepest), plog.NewLogRecord(), SourceWebhook, observed); err != nil {
		t.Fatalf("webhook/file path refuses a payload of 10,000 levels: %v", err)
	}
	span, ev := spanEventWith("", strings.Repeat(`{"a":`, 10000)+"1"+strings.Repeat("}", 10000))
	if err := RecordFromSpanEvent(span, ev, plog.NewLogRecord(), observed); err != nil {
		t.Fatalf("span event path refuses a payload of 10,000 levels: %v", err)
	}

	err := DecodeRecord([]byte(nestedEvent(DefaultMaxDepth)), plog.NewLogRecord(), SourceWebhook, observed)
	var le *LimitError
	if !errors.As(err, &le) || le.Limit != "max_depth" || le.Max != DefaultMaxDepth {
		t.Fatalf("an event deeper than max_depth: got %v", err)
	}
}

// Depth is counted in the rebuilt event on every path: a payload that one
// level more makes too deep for the webhook is too deep as a span event.
func TestDepthCountedAlikeOnEveryPath(t *testing.T) {
	lim := Limits{MaxDepth: 10}
	for _, levels := range []int{9, 10} {
		body := nestedEvent(levels)
		errBody := lim.DecodeRecord([]byte(body), plog.NewLogRecord(), SourceWebhook, observed)
		payload := strings.Repeat(`{"a":`, levels) + "1" + strings.Repeat("}", levels)
		span, ev := spanEventWith("", payload)
		errSpan := lim.RecordFromSpanEvent(span, ev, plog.NewLogRecord(), observed)
		if (errBody == nil) != (levels == 9) || (errSpan == nil) != (levels == 9) {
			t.Errorf("payload of %d levels under max_depth 10: webhook %v, span event %v", levels, errBody, errSpan)
		}
	}
}

// A wide object costs linear time: 200,000 members (the old limit was
// 1,000) decode, keep their order, and a duplicate among them is found.
func TestWideObjects(t *testing.T) {
	const n = 200000
	lr := plog.NewLogRecord()
	if err := DecodeRecord([]byte(wideEvent(n)), lr, SourceWebhook, observed); err != nil {
		t.Fatal(err)
	}
	payload, _ := lr.Body().Map().Get(KeyPayload)
	if payload.Map().Len() != n {
		t.Fatalf("%d members, want %d", payload.Map().Len(), n)
	}
	i := 0
	for k := range payload.Map().All() {
		if want := fmt.Sprintf("k%d", i); k != want {
			t.Fatalf("member %d is %q, want %q", i, k, want)
		}
		i++
	}
	dup := strings.Replace(wideEvent(n), `}`, `,"k150000":"again"}`, 1)
	if err := DecodeRecord([]byte(dup), plog.NewLogRecord(), SourceWebhook, observed); err == nil || !strings.Contains(err.Error(), `duplicate key "k150000"`) {
		t.Fatalf("duplicate among wide members: %v", err)
	}
	span, ev := spanEventWith("", wideEvent(n)[strings.Index(wideEvent(n), `{"k0"`):strings.Index(wideEvent(n), `},"timestamp"`)+1])
	lr = plog.NewLogRecord()
	if err := RecordFromSpanEvent(span, ev, lr, observed); err != nil {
		t.Fatal(err)
	}
	payload, _ = lr.Body().Map().Get(KeyPayload)
	if payload.Map().Len() != n {
		t.Fatalf("span event payload: %d members, want %d", payload.Map().Len(), n)
	}

	lim := Limits{MaxMembers: 1000}
	err := lim.DecodeRecord([]byte(wideEvent(1001)), plog.NewLogRecord(), SourceWebhook, observed)
	if err == nil || !strings.Contains(err.Error(), "object members exceed max_members 1000") {
		t.Fatalf("over max_members: %v", err)
	}
	if err := lim.DecodeRecord([]byte(wideEvent(1000)), plog.NewLogRecord(), SourceWebhook, observed); err != nil {
		t.Fatalf("at max_members: %v", err)
	}
}

// spanEventWith returns a span with one audit span event whose actor and
// payload attributes hold the given JSON text ("" leaves one out).
func spanEventWith(actor, payload string) (ptrace.Span, ptrace.SpanEvent) {
	span := ptrace.NewSpan()
	ev := span.Events().AppendEmpty()
	ev.SetName(SpanEventName)
	a := ev.Attributes()
	a.PutStr(spanAttrVersion, "0.2")
	a.PutStr(spanAttrAction, "created")
	a.PutStr(spanAttrType, "flag")
	a.PutStr(spanAttrTimestamp, "2026-01-01T00:00:00Z")
	if actor != "" {
		a.PutStr(spanAttrActor, actor)
	}
	if payload != "" {
		a.PutStr(spanAttrPayload, payload)
	}
	return span, ev
}

// The span event path takes one JSON value per attribute, as the webhook
// takes one event per body: trailing data is refused, not ignored.
func TestSpanEventRefusesTrailingData(t *testing.T) {
	const actor = `{"authentication":"token","ip":"127.0.0.1"}`
	const payload = `{"key":"color"}`
	good, ev := spanEventWith(actor, payload)
	if err := RecordFromSpanEvent(good, ev, plog.NewLogRecord(), observed); err != nil {
		t.Fatalf("the well-formed event: %v", err)
	}
	for name, tt := range map[string]struct{ actor, payload string }{
		"actor then garbage":    {actor + " GARBAGE", payload},
		"two actors":            {actor + actor, payload},
		"payload then garbage":  {actor, payload + " GARBAGE"},
		"two payloads":          {actor, payload + payload},
		"payload then a string": {actor, payload + ` "x"`},
	} {
		t.Run(name, func(t *testing.T) {
			span, ev := spanEventWith(tt.actor, tt.payload)
			err := RecordFromSpanEvent(span, ev, plog.NewLogRecord(), observed)
			if err == nil || !strings.Contains(err.Error(), "unexpected data after the JSON value") {
				t.Fatalf("got %v", err)
			}
		})
	}
	// Trailing space is not data.
	span, ev := spanEventWith(actor+" \n", payload+"\t")
	if err := RecordFromSpanEvent(span, ev, plog.NewLogRecord(), observed); err != nil {
		t.Fatalf("trailing space: %v", err)
	}
}

func TestZipkinAnnotationRefusesTrailingData(t *testing.T) {
	name := `event: {"flipt.event.version":"0.2","flipt.event.action":"created","flipt.event.type":"flag","flipt.event.timestamp":"2026-01-01T00:00:00Z"}`
	for _, tt := range []struct {
		suffix string
		ok     bool
	}{{"", true}, {" ", true}, {" GARBAGE", false}, {`{"flipt.event.version":"0.1"}`, false}} {
		span := ptrace.NewSpan()
		ev := span.Events().AppendEmpty()
		ev.SetName(name + tt.suffix)
		if !IsAuditSpanEvent(ev) {
			t.Fatalf("%q is not recognised as an audit span event", ev.Name())
		}
		err := RecordFromSpanEvent(span, ev, plog.NewLogRecord(), observed)
		if (err == nil) != tt.ok {
			t.Errorf("suffix %q: got %v", tt.suffix, err)
		}
		if err != nil && (!errors.Is(err, ErrNotEvent) || !strings.Contains(err.Error(), "unexpected data after the attributes")) {
			t.Errorf("suffix %q: error %v", tt.suffix, err)
		}
	}
}
