package main

import (
	"encoding/binary"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/otelcol-flipt/otelcol-flipt/internal/e2etest"
	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
	"github.com/otelcol-flipt/otelcol-flipt/internal/loadgen"
)

// TestReliabilityScale sends the built collector input that is hostile by
// its shape or its size rather than its syntax: a trace that is one deep
// chain, label values of 100 KB, and a file source matching 21,000 files.
// Each case asserts the answers, that the collector keeps answering, and
// bounds; the RESULT lines carry the figures for RELIABILITY.md.
func TestReliabilityScale(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	t.Run("cache_metrics: a 32,000-span chain beside a 1-span export", relScaleChain)
	t.Run("cache_metrics: 1,000 series with 100 KB label values", relScaleLabels)
	t.Run("file source: 21,000 files beside the webhook", relScaleFiles)
}

// relSpanID is span number n of a test trace.
func relSpanID(n uint64) pcommon.SpanID {
	var id pcommon.SpanID
	binary.BigEndian.PutUint64(id[:], n+1)
	return id
}

func relTraceID(n byte) pcommon.TraceID {
	return pcommon.TraceID{0xfe, 0xed, n, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13}
}

// relExport encodes td as an OTLP/HTTP protobuf body.
func relExport(t *testing.T, td ptrace.Traces) []byte {
	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	return body
}

func relFliptSpans(td ptrace.Traces) ptrace.SpanSlice {
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "flipt")
	return rs.ScopeSpans().AppendEmpty().Spans()
}

// relChain is one trace: an evaluation span at the root, then depth-1
// spans each the child of the one before, root first, the deepest a SQL
// query. Flipt's preset reads it as one cache miss.
func relChain(depth int) ptrace.Traces {
	td := ptrace.NewTraces()
	spans := relFliptSpans(td)
	spans.EnsureCapacity(depth)
	now := pcommon.NewTimestampFromTime(time.Now())
	for i := range depth {
		s := spans.AppendEmpty()
		s.SetTraceID(relTraceID(1))
		s.SetSpanID(relSpanID(uint64(i)))
		s.SetStartTimestamp(now)
		s.SetEndTimestamp(now)
		switch i {
		case 0:
			s.SetName("flipt.evaluation.EvaluationService/Boolean")
			s.SetKind(ptrace.SpanKindServer)
		case depth - 1:
			s.SetName("sql.query")
			s.Attributes().PutStr("db.system.name", "sqlite")
		default:
			s.SetName("step")
		}
		if i > 0 {
			s.SetParentSpanID(relSpanID(uint64(i - 1)))
		}
	}
	return td
}

// relSingleEvaluation is a trace of one evaluation span with nothing below
// it: a cache hit.
func relSingleEvaluation() ptrace.Traces {
	td := ptrace.NewTraces()
	s := relFliptSpans(td).AppendEmpty()
	s.SetTraceID(relTraceID(2))
	s.SetSpanID(relSpanID(0))
	s.SetName("flipt.evaluation.EvaluationService/Variant")
	s.SetKind(ptrace.SpanKindServer)
	return td
}

// relMetricValue is the value of the first series on a /metrics page that
// matches series, or -1.
func relMetricValue(body, series string) int {
	m := regexp.MustCompile(`(?m)^` + series + ` (\d+)$`).FindStringSubmatch(body)
	if m == nil {
		return -1
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// Before inference was linear, this chain held the connector's lock for
// 28 s and a 1-span export sent beside it waited 26 s.
func relScaleChain(t *testing.T) {
	env := newDefaultPipelineEnv(t)
	col := e2etest.Start(t, e2etest.Options{Env: env.vars(),
		Args: []string{"--set=connectors.cache_metrics.flush_interval=500ms"}})
	col.WaitHealthy("http://" + env.health)
	rss := relSampleRSS(col.PID())
	url := "http://" + env.http + "/v1/traces"
	chain, single := relExport(t, relChain(32000)), relExport(t, relSingleEvaluation())

	var wg sync.WaitGroup
	var chainStatus int
	var chainTook time.Duration
	wg.Go(func() {
		start := time.Now()
		chainStatus = e2etest.Post(t, url, "application/x-protobuf", chain).Status
		chainTook = time.Since(start)
	})
	start := time.Now()
	singleStatus := e2etest.Post(t, url, "application/x-protobuf", single).Status
	singleTook := time.Since(start)
	wg.Wait()
	if chainStatus != http.StatusOK || singleStatus != http.StatusOK {
		t.Fatalf("chain export %d, 1-span export %d: want 200 for both", chainStatus, singleStatus)
	}
	miss := `flipt_cache_miss_total{.*cache="memory".*type="evaluation".*}`
	hit := `flipt_cache_hit_total{.*cache="memory".*type="evaluation".*}`
	var body string
	col.WaitFor("the chain's miss and the single span's hit on /metrics", func() bool {
		body = e2etest.Get(t, "http://"+env.prom+"/metrics").Body
		return relMetricValue(body, miss) >= 1 && relMetricValue(body, hit) >= 1
	})
	if m, h := relMetricValue(body, miss), relMetricValue(body, hit); m != 1 || h != 1 {
		t.Errorf("want 1 evaluation miss (the chain) and 1 hit (the single span), got %d and %d", m, h)
	}
	peak := rss.Stop()
	t.Logf("RESULT scale chain: 32,000-span root-first chain answered 200 in %.2f s, a 1-span export sent beside it in %.2f s; peak RSS %.0f MiB",
		chainTook.Seconds(), singleTook.Seconds(), peak)
	if peak > 400 {
		t.Errorf("peak RSS %.0f MiB, want below 400 MiB", peak)
	}
}

// Before label values were capped, 1,000 series with 100 KB values took the
// collector to 863 MB and one scrape to 300 MB.
func relScaleLabels(t *testing.T) {
	env := newDefaultPipelineEnv(t)
	col := e2etest.Start(t, e2etest.Options{Env: env.vars(),
		Args: []string{"--set=connectors.cache_metrics.flush_interval=500ms"}})
	col.WaitHealthy("http://" + env.health)
	rss := relSampleRSS(col.PID())
	long := strings.Repeat("x", 100<<10)
	for batch := range 10 {
		td := ptrace.NewTraces()
		spans := relFliptSpans(td)
		for i := range 100 {
			n := batch*100 + i
			s := spans.AppendEmpty()
			s.SetTraceID(relTraceID(3))
			s.SetSpanID(relSpanID(uint64(n)))
			s.SetName("lookup")
			s.Attributes().PutBool("cache.hit", true)
			s.Attributes().PutStr("cache.backend", fmt.Sprintf("%04d-%s", n, long))
			s.Attributes().PutStr("cache.type", "flag")
		}
		if r := e2etest.Post(t, "http://"+env.http+"/v1/traces", "application/x-protobuf", relExport(t, td)); r.Status != http.StatusOK {
			t.Fatalf("export %d: %d %s", batch, r.Status, r.Body)
		}
	}
	series := regexp.MustCompile(`(?m)^flipt_cache_hit_total\{[^\n]*type="flag"[^\n]*\} 1$`)
	var body string
	col.WaitFor("1,000 hit series on /metrics", func() bool {
		body = e2etest.Get(t, "http://"+env.prom+"/metrics").Body
		return len(series.FindAllString(body, -1)) >= 1000
	})
	if strings.Contains(body, long[:1024]) {
		t.Error("a 100 KB label value reached /metrics uncut")
	}
	peak := rss.Stop()
	t.Logf("RESULT scale labels: 1,000 series with 100 KB cache labels: one scrape %d bytes; peak RSS %.0f MiB", len(body), peak)
	if len(body) > 16<<20 {
		t.Errorf("one scrape is %d bytes, want below 16 MiB", len(body))
	}
	if peak > 400 {
		t.Errorf("peak RSS %.0f MiB, want below 400 MiB", peak)
	}
}

// relScaleFilesConfig reads Flipt audit log files and takes the webhook in
// the same receiver.
const relScaleFilesConfig = `
extensions:
  file_storage:
    directory: ${env:STATE}
receivers:
  flipt_audit:
    webhook:
      endpoint: ${env:WEBHOOK}
      signing_secret: ${env:SECRET}
    file:
      include:
        - ${env:LOGS}/*.log
      storage: file_storage
exporters:
  audit_file:
    path: ${env:AUDIT_FILE}
service:
  extensions: [file_storage]
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [flipt_audit]
      exporters: [audit_file]
`

// Before the file source bounded its open files, 21,000 matched files used
// up the descriptors and the webhook in the same receiver stopped answering.
func relScaleFiles(t *testing.T) {
	const files = 21000
	logs, state := t.TempDir(), t.TempDir()
	line := fliptcapture.Lines(t, "audit.log")[0]
	for i := range files {
		// Each file one event, made unique by its timestamp's position in
		// the file name so the audit file can be checked for each.
		ev := strings.Replace(string(line), `"timestamp":"`, fmt.Sprintf(`"scale":%d,"timestamp":"`, i), 1)
		if err := os.WriteFile(filepath.Join(logs, fmt.Sprintf("audit-%05d.log", i)), []byte(ev+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	webhook := e2etest.FreeAddr(t)
	url := "http://" + webhook + "/flipt/audit"
	auditPath := filepath.Join(t.TempDir(), "audit.log")
	rc := newRelCollector(t, relScaleFilesConfig, url+"/health",
		"WEBHOOK="+webhook, "SECRET="+relSecret, "LOGS="+logs, "STATE="+state, "AUDIT_FILE="+auditPath)
	col := rc.start()
	rss := relSampleRSS(col.PID())

	// While the files are read: health and signed events answer.
	answered, maxFDs := 0, 0
	col.WaitFor("every file's event in the audit file", func() bool {
		if r := e2etest.Get(t, url+"/health"); r.Status == http.StatusOK {
			answered++
		}
		ev := loadgen.WebhookEvent("scale-files", answered, 1, time.Now())
		if r := relPostSigned(t, url, ev); r.Status != http.StatusOK {
			t.Errorf("signed event while the files are read: %d %s", r.Status, r.Body)
		}
		if fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", col.PID())); err == nil {
			maxFDs = max(maxFDs, len(fds))
		}
		return strings.Count(e2etest.ReadFile(t, auditPath), `"scale":`) >= files
	})
	got := e2etest.ReadFile(t, auditPath)
	if n := strings.Count(got, `"scale":`); n != files {
		t.Errorf("want each of the %d files' events once, found %d", files, n)
	}
	peak := rss.Stop()
	t.Logf("RESULT scale files: %d files read, each event once; %d health checks and signed events answered while reading; peak open descriptors %d; peak RSS %.0f MiB",
		files, answered, maxFDs, peak)
	if maxFDs > 256+64 {
		t.Errorf("peak open descriptors %d, want at most max_concurrent_files (256) + 64", maxFDs)
	}
}
