package fliptcapture

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// V2Dir is the folder holding the recordings of a real Flipt v2.11.0.
func V2Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata", "flipt-v2")
}

func v2Bodies(t testing.TB, kind string) [][]byte {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(V2Dir(), "otlp", "*-v1_"+kind+".bin"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no v2 OTLP %s captures: %v", kind, err)
	}
	out := make([][]byte, len(paths))
	for i, p := range paths {
		if out[i], err = os.ReadFile(p); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// V2TraceBodies returns the raw OTLP/HTTP bodies Flipt v2 posted to /v1/traces.
func V2TraceBodies(t testing.TB) [][]byte { return v2Bodies(t, "traces") }

// V2Traces decodes V2TraceBodies (4 exports, 619 spans).
func V2Traces(t testing.TB) []ptrace.Traces {
	t.Helper()
	var out []ptrace.Traces
	for i, body := range V2TraceBodies(t) {
		req := ptraceotlp.NewExportRequest()
		if err := req.UnmarshalProto(body); err != nil {
			t.Fatalf("v2 traces body %d: %v", i+1, err)
		}
		out = append(out, req.Traces())
	}
	return out
}

// V2Logs decodes the OTLP log exports of Flipt v2 (19 exports, 1157 records).
func V2Logs(t testing.TB) []plog.Logs {
	t.Helper()
	var out []plog.Logs
	for i, body := range v2Bodies(t, "logs") {
		req := plogotlp.NewExportRequest()
		if err := req.UnmarshalProto(body); err != nil {
			t.Fatalf("v2 logs body %d: %v", i+1, err)
		}
		out = append(out, req.Logs())
	}
	return out
}

// PromPoint is one sample of a Prometheus text exposition; label values
// keep the exposition's escapes (\" and \\).
type PromPoint struct {
	Name   string
	Labels map[string]string
	Value  float64
}

// PromPoints reads a Prometheus text exposition. It is a plain reader for
// the captures, independent of the code under test.
func PromPoints(t testing.TB, text []byte) []PromPoint {
	t.Helper()
	var out []PromPoint
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, labels, value := line, "", ""
		if i := strings.IndexByte(line, '{'); i >= 0 {
			j := strings.LastIndexByte(line, '}')
			name, labels, value = line[:i], line[i+1:j], strings.TrimSpace(line[j+1:])
		} else if i := strings.IndexByte(line, ' '); i >= 0 {
			name, value = line[:i], strings.TrimSpace(line[i+1:])
		}
		if i := strings.IndexByte(value, ' '); i >= 0 {
			value = value[:i] // a timestamp
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			t.Fatalf("exposition line %q: %v", line, err)
		}
		out = append(out, PromPoint{Name: name, Labels: parseLabels(labels), Value: v})
	}
	return out
}

// PromSeries reads an exposition into "name{k="v",...}" → value, labels
// sorted and those named in drop left out.
func PromSeries(t testing.TB, text []byte, drop ...string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, p := range PromPoints(t, text) {
		out[SeriesKey(p.Name, p.Labels, drop...)] += p.Value
	}
	return out
}

// SeriesKey renders a series as PromSeries does; empty values are left
// out, as Prometheus does.
func SeriesKey(name string, labels map[string]string, drop ...string) string {
	keys := make([]string, 0, len(labels))
	for k, v := range labels {
		if v == "" || contains(drop, k) {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(name)
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k)
		b.WriteString(`="`)
		b.WriteString(labels[k])
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// parseLabels reads k="v",k2="v2" keeping escapes as written (\" and \\),
// so keys compare with the exposition's own text.
func parseLabels(s string) map[string]string {
	out := map[string]string{}
	for s != "" {
		eq := strings.IndexByte(s, '=')
		if eq < 0 {
			break
		}
		k := strings.TrimSpace(s[:eq])
		s = s[eq+2:] // skip ="
		i := 0
		for i < len(s) && s[i] != '"' {
			if s[i] == '\\' {
				i++
			}
			i++
		}
		out[k] = s[:i]
		s = strings.TrimPrefix(s[i+1:], ",")
	}
	return out
}
