package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/otelcol-flipt/otelcol-flipt/internal/e2etest"
	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
)

const evalFlush = "--set=connectors.evaluation_metrics.flush_interval=300ms"

// The default pipeline with the README's Flipt config: Flipt pushes its own
// flipt_evaluations_* over OTLP and sends its traces. Its server
// evaluations are counted once, by Flipt; only the OpenFeature client's
// evaluations (span event and log record) are derived, marked
// evaluation_side="client". Summed the way Flipt's dashboards sum, every
// evaluation is counted once.
func TestE2EEvaluationMetricsDefaultPipelineCountsEachEvaluationOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	env := newDefaultPipelineEnv(t)
	col := e2etest.Start(t, e2etest.Options{Env: env.vars(), Args: []string{evalFlush}})
	col.WaitHealthy("http://" + env.health)

	postFliptAndClient(t, env, true)
	prom := "http://" + env.prom + "/metrics"
	var body string
	col.WaitFor("client evaluations on /metrics", func() bool {
		body = e2etest.Get(t, prom).Body
		return hasSeries(body, `flipt_evaluations_requests_total{evaluation_side="client",flag="color",job="shop",namespace="default",.*} 2`)
	})
	// Flipt's own counters pass through untouched...
	for _, want := range []string{
		`flipt_evaluations_requests_total{flag="color",job="flipt",namespace="default",otel_scope_name="github.com/flipt-io/flipt",.*} 23`,
		`flipt_evaluations_requests_total{flag="new-checkout",job="flipt",namespace="default",otel_scope_name="github.com/flipt-io/flipt",.*} 22`,
		`flipt_evaluations_results_total{evaluation_side="client",flag="color",job="shop",match="true",namespace="default",.*reason="MATCH_EVALUATION_REASON",.*type="variant",value="blue"} 2`,
	} {
		if !hasSeries(body, want) {
			t.Errorf("missing %s in\n%s", want, grepEval(body))
		}
	}
	// ...and nothing counts Flipt's server evaluations a second time.
	if strings.Contains(body, `evaluation_side="server"`) {
		t.Fatalf("server evaluations derived although Flipt pushes its own:\n%s", grepEval(body))
	}
	// The dashboard's sum(flipt_evaluations_requests_total{flag="color",namespace="default"}):
	// Flipt's 23 server evaluations and the client's 2 it never saw.
	if got := sumSeries(t, body, "flipt_evaluations_requests_total", `flag="color"`, `namespace="default"`); got != 25 {
		t.Fatalf("dashboard sum for color = %v, want 25\n%s", got, grepEval(body))
	}
	noExporterComplaints(t, col)
}

// A Flipt that sends traces but no metrics: one setting, and its
// evaluations are counted from the traces under Flipt's names.
func TestE2EEvaluationMetricsFromTracesAlone(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	env := newDefaultPipelineEnv(t)
	col := e2etest.Start(t, e2etest.Options{
		Env:  append(env.vars(), "OTELCOL_FLIPT_DERIVE_SERVER_EVALUATIONS=true"),
		Args: []string{evalFlush},
	})
	col.WaitHealthy("http://" + env.health)
	postFliptAndClient(t, env, false)
	prom := "http://" + env.prom + "/metrics"
	var body string
	col.WaitFor("server evaluations derived from traces", func() bool {
		body = e2etest.Get(t, prom).Body
		return hasSeries(body, `flipt_evaluations_requests_total{evaluation_side="server",flag="color",job="flipt",namespace="default",.*} 17`)
	})
	for _, want := range []string{
		`flipt_evaluations_requests_total{evaluation_side="server",flag="new-checkout",job="flipt",namespace="default",.*} 16`,
		`flipt_evaluations_results_total{evaluation_side="server",flag="color",job="flipt",match="true",namespace="default",.*reason="MATCH_EVALUATION_REASON",segment="beta-users",type="variant",value="blue"} 7`,
		`flipt_evaluations_latency_milliseconds_count{evaluation_side="server",flag="color",job="flipt",namespace="default",.*} 17`,
		`flipt_evaluations_requests_total{evaluation_side="client",flag="color",job="shop",namespace="default",.*} 2`,
	} {
		if !hasSeries(body, want) {
			t.Errorf("missing %s in\n%s", want, grepEval(body))
		}
	}
	// Flipt's analytics query over the Prometheus that scrapes this.
	if got := sumSeries(t, body, "flipt_evaluations_requests_total", `flag="color"`, `namespace="default"`); got != 19 {
		t.Fatalf("sum for color = %v, want 17 server + 2 client", got)
	}
	noExporterComplaints(t, col)
}

// postFliptAndClient sends the captured Flipt v1.61.1 traces (and, with
// push, Flipt's own counters as metrics.txt holds them), then one
// OpenFeature client span event and one log record.
func postFliptAndClient(t *testing.T, env defaultPipelineEnv, push bool) {
	t.Helper()
	base := "http://" + env.http
	for i, body := range fliptcapture.TraceBodies(t) {
		if r := e2etest.Post(t, base+"/v1/traces", "application/x-protobuf", body); r.Status != 200 {
			t.Fatalf("trace body %d: %d %s", i+1, r.Status, r.Body)
		}
	}
	if push {
		if r := e2etest.Post(t, base+"/v1/metrics", "application/x-protobuf", fliptOwnEvaluationMetrics(t)); r.Status != 200 {
			t.Fatalf("metrics: %d %s", r.Status, r.Body)
		}
	}
	if r := e2etest.Post(t, base+"/v1/traces", "application/x-protobuf", clientSpan(t)); r.Status != 200 {
		t.Fatalf("client traces: %d %s", r.Status, r.Body)
	}
	if r := e2etest.Post(t, base+"/v1/logs", "application/x-protobuf", clientLog(t)); r.Status != 200 {
		t.Fatalf("client logs: %d %s", r.Status, r.Body)
	}
}

// fliptOwnEvaluationMetrics is the OTLP export of Flipt's evaluation
// counters (metrics.exporter: otlp), values from metrics.txt.
func fliptOwnEvaluationMetrics(t *testing.T) []byte {
	text, err := os.ReadFile(fliptcapture.Path("metrics.txt"))
	if err != nil {
		t.Fatal(err)
	}
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "flipt")
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName("github.com/flipt-io/flipt")
	sums := map[string]pmetric.Sum{}
	desc := map[string]string{
		"flipt_evaluations_requests_total": "The total number of requested evaluations",
		"flipt_evaluations_results_total":  "Count of results including match, flag, segment, reason and value attributes",
	}
	now := pcommon.NewTimestampFromTime(time.Now())
	for _, p := range fliptcapture.PromPoints(t, text) {
		d, ok := desc[p.Name]
		if !ok {
			continue
		}
		s, ok := sums[p.Name]
		if !ok {
			m := sm.Metrics().AppendEmpty()
			m.SetName(strings.TrimSuffix(p.Name, "_total"))
			m.SetDescription(d)
			s = m.SetEmptySum()
			s.SetIsMonotonic(true)
			s.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
			sums[p.Name] = s
		}
		dp := s.DataPoints().AppendEmpty()
		for k, v := range p.Labels {
			if !strings.HasPrefix(k, "otel_scope_") {
				dp.Attributes().PutStr(k, v)
			}
		}
		dp.SetStartTimestamp(now - 3600e9)
		dp.SetTimestamp(now)
		dp.SetIntValue(int64(p.Value))
	}
	body, err := pmetricotlp.NewExportRequestFromMetrics(md).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// clientSpan is an app's span with the event OpenFeature's Go hook writes.
func clientSpan(t *testing.T) []byte {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "shop")
	sp := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetName("GET /checkout")
	sp.SetTraceID(pcommon.TraceID{0xc1})
	sp.SetSpanID(pcommon.SpanID{0xc1})
	ev := sp.Events().AppendEmpty()
	ev.SetName("feature_flag.evaluation")
	ev.Attributes().PutStr("feature_flag.key", "color")
	ev.Attributes().PutStr("feature_flag.result.variant", "blue")
	ev.Attributes().PutStr("feature_flag.result.reason", "targeting_match")
	ev.Attributes().PutStr("feature_flag.provider.name", "flipt-client-side")
	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// clientLog is the same evaluation as a log record event.
func clientLog(t *testing.T) []byte {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "shop")
	lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetEventName("feature_flag.evaluation")
	lr.Attributes().PutStr("feature_flag.key", "color")
	lr.Attributes().PutStr("feature_flag.result.variant", "blue")
	lr.Attributes().PutStr("feature_flag.result.reason", "TARGETING_MATCH")
	body, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	return body
}

func hasSeries(body, series string) bool {
	return regexp.MustCompile(`(?m)^` + series + `$`).MatchString(body)
}

// sumSeries sums the samples of one name whose labels contain every match.
func sumSeries(t *testing.T, body, name string, matches ...string) float64 {
	total := 0.0
	for _, p := range fliptcapture.PromPoints(t, []byte(body)) {
		if p.Name != name {
			continue
		}
		ok := true
		for _, m := range matches {
			kv := strings.SplitN(m, "=", 2)
			ok = ok && `"`+p.Labels[kv[0]]+`"` == kv[1]
		}
		if ok {
			total += p.Value
		}
	}
	return total
}

func grepEval(body string) string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, "flipt_evaluations_requests") || strings.HasPrefix(l, "flipt_evaluations_results") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func noExporterComplaints(t *testing.T, col *e2etest.Collector) {
	t.Helper()
	for _, complaint := range []string{"collected before", "inconsistent", "has help", "error"} {
		if strings.Contains(strings.ToLower(col.Output()), complaint) {
			t.Fatalf("collector complained (%q):\n%s", complaint, col.Output())
		}
	}
}
