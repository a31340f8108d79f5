package auditevent

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
)

var observed = pcommon.Timestamp(1)

func decode(t *testing.T, data []byte) plog.LogRecord {
	t.Helper()
	lr := plog.NewLogRecord()
	if err := DecodeRecord(data, lr, SourceWebhook, observed); err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
	return lr
}

func encode(lr plog.LogRecord, f Format) []byte {
	body, ok := Body(lr)
	if !ok {
		panic("not an audit record")
	}
	return Append(nil, body, f)
}

// Every captured webhook body maps to a record that encodes back to the
// identical webhook body and to the identical audit.log line.
func TestWebhookBodiesRoundTrip(t *testing.T) {
	logLines := map[string]bool{}
	for _, l := range fliptcapture.Lines(t, "audit.log") {
		logLines[string(l)] = true
	}
	reqs := append(fliptcapture.WebhookRequests(t, false), fliptcapture.WebhookRequests(t, true)...)
	if len(reqs) != 59 {
		t.Fatalf("%d webhook requests", len(reqs))
	}
	for _, r := range reqs {
		lr := decode(t, r.Body)
		if got := encode(lr, FormatWebhook); !bytes.Equal(got, r.Body) {
			t.Errorf("request %d: webhook format\n got %s\nwant %s", r.Seq, got, r.Body)
		}
		if got := encode(lr, FormatJSON); !logLines[string(got)] {
			t.Errorf("request %d: json format %s is no line of audit.log", r.Seq, got)
		}
	}
}

// Every audit.log line, in json and in console encoding, round-trips.
func TestLogLinesRoundTrip(t *testing.T) {
	webhookBodies := map[string]bool{}
	for _, r := range append(fliptcapture.WebhookRequests(t, false), fliptcapture.WebhookRequests(t, true)...) {
		webhookBodies[string(r.Body)] = true
	}
	lines := fliptcapture.Lines(t, "audit.log")
	if len(lines) != 53 {
		t.Fatalf("%d audit.log lines", len(lines))
	}
	for i, line := range lines {
		lr := decode(t, line)
		if got := encode(lr, FormatJSON); !bytes.Equal(got, line) {
			t.Errorf("line %d: json\n got %s\nwant %s", i+1, got, line)
		}
		if got := encode(lr, FormatWebhook); !webhookBodies[string(got)] {
			t.Errorf("line %d: webhook format %s was never sent by Flipt", i+1, got)
		}
		console, err := fliptcapture.ConsoleLine(line)
		if err != nil {
			t.Fatal(err)
		}
		if got := encode(lr, FormatConsole); !bytes.Equal(got, console) {
			t.Errorf("line %d: console\n got %s\nwant %s", i+1, got, console)
		}
		if got := encode(decode(t, console), FormatJSON); !bytes.Equal(got, line) {
			t.Errorf("line %d: console line decoded to %s", i+1, got)
		}
	}
}

// The span events of the captured traces carry the same 53 events, in
// audit.log order.
func TestSpanEventsMatchAuditLog(t *testing.T) {
	var got [][]byte
	for _, td := range fliptcapture.Traces(t) {
		for _, rs := range td.ResourceSpans().All() {
			for _, ss := range rs.ScopeSpans().All() {
				for _, span := range ss.Spans().All() {
					for _, ev := range span.Events().All() {
						if !IsAuditSpanEvent(ev) {
							continue
						}
						lr := plog.NewLogRecord()
						if err := RecordFromSpanEvent(span, ev, lr, observed); err != nil {
							t.Fatal(err)
						}
						if lr.TraceID() != span.TraceID() || lr.SpanID() != span.SpanID() {
							t.Error("record not linked to its span")
						}
						if v, _ := lr.Attributes().Get(AttrSource); v.Str() != SourceTrace {
							t.Errorf("source %q", v.Str())
						}
						got = append(got, encode(lr, FormatJSON))
					}
				}
			}
		}
	}
	want := fliptcapture.Lines(t, "audit.log")
	if len(got) != len(want) {
		t.Fatalf("%d span events, %d audit.log lines", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Errorf("event %d:\n got %s\nwant %s", i+1, got[i], want[i])
		}
	}
}

func TestRecordFields(t *testing.T) {
	lr := decode(t, []byte(`{"version":"0.2","type":"flag","action":"deleted","status":"denied",`+
		`"metadata":{"actor":{"authentication":"oidc","ip":"10.0.0.1, 10.0.0.2","email":"a@b.c","name":"A","picture":"p"}},`+
		`"payload":null,"timestamp":"2023-09-13T13:05:18-04:00","extra":[1,2.5,"x"]}`))
	if lr.EventName() != EventName || lr.SeverityNumber() != plog.SeverityNumberWarn || lr.SeverityText() != "WARN" {
		t.Errorf("event name %q severity %v %q", lr.EventName(), lr.SeverityNumber(), lr.SeverityText())
	}
	if got := lr.Timestamp().AsTime().UTC().Format("2006-01-02T15:04:05Z"); got != "2023-09-13T17:05:18Z" {
		t.Errorf("timestamp %s", got)
	}
	if lr.ObservedTimestamp() != observed {
		t.Error("observed timestamp not set")
	}
	want := map[string]string{
		AttrVersion: "0.2", AttrType: "flag", AttrAction: "deleted", AttrStatus: "denied",
		AttrAuthentication: "oidc", AttrActorIP: "10.0.0.1, 10.0.0.2", AttrClientAddress: "10.0.0.1",
		AttrActorEmail: "a@b.c", AttrActorName: "A", AttrActorPicture: "p", AttrSource: SourceWebhook,
	}
	if lr.Attributes().Len() != len(want) {
		t.Errorf("attributes %v", lr.Attributes().AsRaw())
	}
	for k, v := range want {
		if got, _ := lr.Attributes().Get(k); got.Str() != v {
			t.Errorf("%s = %q, want %q", k, got.Str(), v)
		}
	}
	// Unknown fields survive, after Flipt's own, in both formats.
	if got := string(encode(lr, FormatJSON)); !strings.HasSuffix(got, `"timestamp":"2023-09-13T13:05:18-04:00","extra":[1,2.5,"x"]}`) {
		t.Errorf("json %s", got)
	}
}

func TestLegacyEventsUseEncodingJSONLayout(t *testing.T) {
	const v01 = `{"version":"0.1","type":"flag","action":"created","metadata":{"actor":{"io.flipt.auth.oidc.email":"a@b.c"}},"payload":{"description":"Tom \u0026 Jerry"},"timestamp":"2023-01-01T00:00:00Z"}`
	lr := decode(t, []byte(v01))
	for _, f := range []Format{FormatJSON, FormatWebhook} {
		if got := string(encode(lr, f)); got != v01 {
			t.Errorf("%v: %s", f, got)
		}
	}
	if _, ok := lr.Attributes().Get(AttrStatus); ok {
		t.Error("v0.1 event got a status attribute")
	}
}

func TestNumbersAndStringsEncodeAsEncodingJSON(t *testing.T) {
	in := `{"version":"0.2","type":"t","action":"a","timestamp":"2026-01-01T00:00:00Z","payload":` +
		`{"i":-12,"z":-0,"f":12.5,"big":1e+21,"small":1e-7,"max":9223372036854775807,"over":18446744073709551616,` +
		`"s":"\u003c\u0026\u003e \"q\" \\ \n\t\r\b\f \u0001 \u2028 é 😀"}}`
	lr := decode(t, []byte(in))
	got := string(encode(lr, FormatWebhook))
	want := `{"version":"0.2","type":"t","action":"a","payload":{"i":-12,"z":-0,"f":12.5,"big":1e+21,"small":1e-7,` +
		`"max":9223372036854775807,"over":18446744073709552000,` +
		`"s":"\u003c\u0026\u003e \"q\" \\ \n\t\r\b\f \u0001 \u2028 é 😀"},"timestamp":"2026-01-01T00:00:00Z"}`
	if got != want {
		t.Errorf("\n got %s\nwant %s", got, want)
	}
	if got := string(encode(lr, FormatJSON)); !strings.Contains(got, `"s":"<&> `) {
		t.Errorf("json format escaped HTML: %s", got)
	}
}

func TestRejects(t *testing.T) {
	lim := Limits{MaxDepth: 64, MaxMembers: 1000}
	deep := strings.Repeat("[", lim.MaxDepth) + strings.Repeat("]", lim.MaxDepth)
	many := `{"version":"0.2","type":"t","action":"a","timestamp":"2026-01-01T00:00:00Z","payload":{`
	for i := range lim.MaxMembers + 1 {
		if i > 0 {
			many += ","
		}
		many += fmt.Sprintf(`"k%d":0`, i)
	}
	many += "}}"
	tests := []struct {
		name, in  string
		notEvent  bool // well-formed JSON, but not an event
		errSubstr string
	}{
		{"empty", ``, false, "empty body"},
		{"not json", `hello`, false, "expected an audit event object"},
		{"truncated", `{"version":"0.2"`, false, "end of input"},
		{"array body", `[1]`, false, "expected an audit event object"},
		{"trailing", `{"version":"0.2","type":"t","action":"a","timestamp":"2026-01-01T00:00:00Z"} x`, false, "after the event"},
		{"invalid utf8", "{\"version\":\"\xff\"}", false, "UTF-8"},
		{"bad escape", `{"version":"\x"}`, false, "invalid escape"},
		{"lone surrogate", `{"version":"\ud800"}`, false, "surrogate"},
		{"control char", "{\"version\":\"a\nb\"}", false, "control character"},
		{"leading zero", `{"n":01}`, false, "invalid number"},
		{"duplicate key", `{"version":"0.2","type":"t","action":"a","timestamp":"2026-01-01T00:00:00Z","payload":{"a":1},"payload":{"a":2}}`, false, `duplicate key "payload"`},
		{"nested duplicate key", `{"version":"0.2","type":"t","action":"a","timestamp":"2026-01-01T00:00:00Z","payload":{"a":1,"b":{"c":1,"c":2}}}`, false, `duplicate key "c"`},
		{"huge number", `{"n":1e999}`, false, "out of range"},
		{"deep", `{"version":` + deep + `}`, false, "nesting depth exceeds max_depth 64"},
		{"many members", many, false, "object members exceed max_members 1000"},
		{"missing timestamp", `{"version":"0.2","type":"t","action":"a"}`, true, `missing "timestamp"`},
		{"wrong type", `{"version":0.2,"type":"t","action":"a","timestamp":"2026-01-01T00:00:00Z"}`, true, `"version" must be`},
		{"bad timestamp", `{"version":"0.2","type":"t","action":"a","timestamp":"yesterday"}`, true, "RFC 3339"},
		{"bad status", `{"version":"0.2","type":"t","action":"a","timestamp":"2026-01-01T00:00:00Z","status":1}`, true, `"status"`},
		{"bad metadata", `{"version":"0.2","type":"t","action":"a","timestamp":"2026-01-01T00:00:00Z","metadata":[]}`, true, `"metadata"`},
		{"bad actor", `{"version":"0.2","type":"t","action":"a","timestamp":"2026-01-01T00:00:00Z","metadata":{"actor":"x"}}`, true, "actor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := lim.DecodeRecord([]byte(tt.in), plog.NewLogRecord(), "", observed)
			if err == nil {
				t.Fatal("accepted")
			}
			if errors.Is(err, ErrNotEvent) != tt.notEvent || !strings.Contains(err.Error(), tt.errSubstr) {
				t.Fatalf("error %q (not-event %v), want %q", err, errors.Is(err, ErrNotEvent), tt.errSubstr)
			}
		})
	}
}

func TestDecodeRecords(t *testing.T) {
	const ev = `{"version":"0.2","type":"t","action":"a","timestamp":"2026-01-01T00:00:00Z"}`
	bad := `{"version":"0.2","type":"t","action":"a"}`
	tests := []struct {
		name, in string
		n        int
		errStr   string
	}{
		{"one", ev, 1, ""},
		{"array", "[" + ev + " , " + ev + "]", 2, ""},
		{"ndjson", ev + "\n" + ev + "\n" + ev + "\n", 3, ""},
		{"bad element", "[" + ev + "," + bad + "]", 1, "event 1: "},
		{"bad line", ev + "\n" + bad, 1, "event 1: "},
		{"empty array", "[]", 0, "empty array"},
		{"blank", " \n", 0, "empty body"},
		{"unterminated array", "[" + ev, 1, "event 1: "},
		{"after array", "[" + ev + "] x", 1, "after the array"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs := plog.NewLogRecordSlice()
			n, err := DecodeRecords([]byte(tt.in), logs.AppendEmpty, SourceWebhook, observed)
			if tt.errStr == "" && err != nil || tt.errStr != "" && (err == nil || !strings.Contains(err.Error(), tt.errStr)) {
				t.Fatalf("err %v, want %q", err, tt.errStr)
			}
			if n != tt.n {
				t.Fatalf("n = %d, want %d", n, tt.n)
			}
		})
	}
}

func TestForeignRecordsAreNotAuditRecords(t *testing.T) {
	lr := plog.NewLogRecord()
	lr.Body().SetStr("hello")
	if _, ok := Body(lr); ok {
		t.Error("string body taken for an audit record")
	}
	lr.SetEventName(EventName)
	lr.Body().SetEmptyMap().PutStr("x", "y")
	if _, ok := Body(lr); ok {
		t.Error("map without version taken for an audit record")
	}
}
