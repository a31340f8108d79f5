// Package fliptcapture loads the recordings of a real Flipt v1.61.1 server
// kept in testdata/flipt-v1.61.1, for tests across the repository.
package fliptcapture

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// Secret is the webhook signing secret the captured Flipt used.
const Secret = "s3cr3t"

// Dir is the folder holding the captures.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata", "flipt-v1.61.1")
}

// Path is the path of a capture file.
func Path(name string) string { return filepath.Join(Dir(), name) }

// WebhookRequest is one POST Flipt's webhook sink made.
type WebhookRequest struct {
	Seq     int
	Headers [][2]string
	Body    []byte
}

// Header returns the first value of the named header.
func (r WebhookRequest) Header(name string) string {
	for _, h := range r.Headers {
		if equalFold(h[0], name) {
			return h[1]
		}
	}
	return ""
}

func equalFold(a, b string) bool { return bytes.EqualFold([]byte(a), []byte(b)) }

// WebhookRequests loads webhook-requests.ndjson (51 events), or with
// retries=true webhook-requests-retry.ndjson (8 attempts of 2 events).
func WebhookRequests(t testing.TB, retries bool) []WebhookRequest {
	t.Helper()
	name := "webhook-requests.ndjson"
	if retries {
		name = "webhook-requests-retry.ndjson"
	}
	var out []WebhookRequest
	for i, line := range Lines(t, name) {
		var raw struct {
			Seq     int         `json:"seq"`
			Headers [][2]string `json:"headers"`
			BodyB64 string      `json:"body_b64"`
		}
		if err := json.Unmarshal(line, &raw); err != nil {
			t.Fatalf("%s line %d: %v", name, i+1, err)
		}
		body, err := base64.StdEncoding.DecodeString(raw.BodyB64)
		if err != nil {
			t.Fatalf("%s line %d: %v", name, i+1, err)
		}
		out = append(out, WebhookRequest{Seq: raw.Seq, Headers: raw.Headers, Body: body})
	}
	return out
}

// Lines returns the lines of a capture file without their newlines.
func Lines(t testing.TB, name string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(Path(name))
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		out = append(out, append([]byte(nil), sc.Bytes()...))
	}
	return out
}

// AuditLog returns audit.log, Flipt's json-encoded log sink file (53 lines).
func AuditLog(t testing.TB) []byte {
	t.Helper()
	data, err := os.ReadFile(Path("audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TraceBodies returns the raw OTLP/HTTP protobuf bodies Flipt posted to
// /v1/traces, in order.
func TraceBodies(t testing.TB) [][]byte {
	t.Helper()
	paths, err := filepath.Glob(Path(filepath.Join("otlp", "*-v1_traces.bin")))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no OTLP captures: %v", err)
	}
	out := make([][]byte, len(paths))
	for i, p := range paths {
		if out[i], err = os.ReadFile(p); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// Traces decodes TraceBodies.
func Traces(t testing.TB) []ptrace.Traces {
	t.Helper()
	var out []ptrace.Traces
	for i, body := range TraceBodies(t) {
		req := ptraceotlp.NewExportRequest()
		if err := req.UnmarshalProto(body); err != nil {
			t.Fatalf("OTLP body %d: %v", i+1, err)
		}
		out = append(out, req.Traces())
	}
	return out
}

// ConsoleLine turns one line of the json-encoded log sink into what Flipt's
// default console encoding writes for the same event: the top-level object
// with a space after each colon and comma, nested values left compact. It
// works on raw tokens, independently of the code under test.
func ConsoleLine(jsonLine []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(jsonLine))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("not an object: %v", err)
	}
	var out bytes.Buffer
	out.WriteByte('{')
	for i := 0; dec.More(); i++ {
		var key string
		if tok, err := dec.Token(); err != nil {
			return nil, err
		} else {
			key = tok.(string)
		}
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return nil, err
		}
		if i > 0 {
			out.WriteString(", ")
		}
		k, _ := json.Marshal(key)
		out.Write(k)
		out.WriteString(": ")
		out.Write(val)
	}
	out.WriteByte('}')
	return out.Bytes(), nil
}

// ConsoleLog is audit.log rewritten line by line with ConsoleLine.
func ConsoleLog(t testing.TB) []byte {
	t.Helper()
	var out bytes.Buffer
	for i, line := range Lines(t, "audit.log") {
		c, err := ConsoleLine(line)
		if err != nil {
			t.Fatalf("audit.log line %d: %v", i+1, err)
		}
		out.Write(c)
		out.WriteByte('\n')
	}
	return out.Bytes()
}

// Retrace writes round into the first four bytes of every span's trace ID:
// the same for every span of a trace, so parent links still hold, and no
// two rounds share an ID. Replays of the captures so look like new traffic.
func Retrace(td ptrace.Traces, round uint32) {
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, s := range ss.Spans().All() {
				id := s.TraceID()
				id[0], id[1], id[2], id[3] = byte(round), byte(round>>8), byte(round>>16), byte(round>>24)
				s.SetTraceID(id)
			}
		}
	}
}
