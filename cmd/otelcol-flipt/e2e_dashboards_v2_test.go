package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/otelcol-flipt/otelcol-flipt/dashboards"
	"github.com/otelcol-flipt/otelcol-flipt/internal/e2etest"
	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
)

// v2EvaluationsUID is the dashboard on Flipt v2's label names; the v1
// captures cannot feed it, the v2 ones feed nothing else.
const v2EvaluationsUID = "otelcol-flipt-evaluations-v2"

// v2RulePrefix begins the recording rules on Flipt v2's label names.
const v2RulePrefix = "flipt_v2:"

// Series the v2 evaluations dashboard reads that the traces cannot give:
// Flipt counts server errors itself and writes no span event for them.
var v2QueriesWithoutDataFromTraces = map[string]string{
	v2EvaluationsUID + " / Flipt server errors / A": "flipt_server_errors_total is Flipt's own counter; its traces carry no event for an error",
}

// The series Flipt's workload fixes, as the v2 dashboard's queries see
// them: the flipt_* label sets of Flipt v2.11.0's own /metrics after the
// traced run (metrics-before.txt holds no evaluation series, so these are
// the run's counts).
var v2ComparedSeries = []string{
	"flipt_evaluations_requests_total",
	"flipt_evaluations_results_total",
	"flipt_evaluations_latency_milliseconds_count",
}

// v2ComparedOwnSeries adds Flipt's server errors, which only its own metrics
// carry.
var v2ComparedOwnSeries = []string{
	"flipt_evaluations_requests_total",
	"flipt_evaluations_results_total",
	"flipt_evaluations_latency_milliseconds_count",
	"flipt_server_errors_total",
}

// Flipt v2.11.0 pushes its own metrics over OTLP (the six bodies it sent, as
// it sent them) to the default pipeline, and a real Prometheus scrapes the
// collector: every query of the v2 evaluations dashboard returns data, its
// variables list the captured environments, namespaces and flags, and every
// series the workload fixes equals Flipt's own count of it. Then the same
// dashboard on the series evaluation_metrics derives with labels: v2 from
// Flipt v2's traces of the traced run: every query but Flipt's server
// errors returns data, and each derived series equals Flipt's own /metrics
// of that run.
func TestE2EDashboardsV2AgainstPrometheus(t *testing.T) {
	promBin := prometheusBinary(t)
	var v2 []dashboards.Dashboard
	for _, d := range loadDashboards(t) {
		if d.UID == v2EvaluationsUID {
			v2 = append(v2, d)
		}
	}
	if len(v2) != 1 {
		t.Fatalf("no dashboard with uid %s", v2EvaluationsUID)
	}
	fliptOwn := fliptV2OwnSeries(t)
	checks := func(withoutData map[string]string, absent map[string]string) dashboardChecks {
		return dashboardChecks{
			withoutData: withoutData,
			absent:      absent,
			values: map[string]func(float64) bool{
				v2EvaluationsUID + " / Evaluation error ratio / A": func(v float64) bool { return v == 0 },
			},
		}
	}

	t.Run("flipt_own_metrics", func(t *testing.T) {
		bodies := fliptV2MetricsBodies(t)
		if len(bodies) != 6 {
			t.Fatalf("%d captured metrics bodies, want 6", len(bodies))
		}
		prom, stop := startV2Pipeline(t, promBin, nil)
		// Two rounds with scrapes after each, so rate() and increase() see
		// the counters move: 237 evaluations, then the run's 422.
		postV2Metrics(t, prom.otlp, bodies[:3])
		prom.waitFor(t, "the first round scraped", `sum(flipt_evaluations_requests_total) == 237`)
		prom.waitScrapes(t, 2)
		postV2Metrics(t, prom.otlp, bodies[3:])
		prom.waitFor(t, "the second round scraped", `sum(flipt_evaluations_requests_total) == 422`)
		prom.waitScrapes(t, 2)

		absent := map[string]string{"flipt_evaluations_errors_total": "Flipt v2 counted no evaluation error (it counts one only once the flag is found)"}
		queried, empty := prom.runDashboards(t, v2, checks(nil, absent))
		t.Logf("%d v2 dashboard queries run on Flipt's own metrics, %d with data", queried, queried-empty)
		prom.checkVariables(t, v2[0])
		prom.checkAbsent(t, absent)

		// What Prometheus holds is what Flipt pushed last, series for
		// series, and what Flipt's /metrics counted on the same seeded
		// workload.
		pushed := lastBodySeries(t, bodies[len(bodies)-1])
		got := prom.fliptSeries(t, v2ComparedOwnSeries, "")
		compareSeries(t, "Flipt's last OTLP body", pushed, got)
		compareSeries(t, "Flipt's own /metrics", fliptOwn, got)
		prom.checkV2Rules(t)
		stop()
	})

	t.Run("derived_from_traces", func(t *testing.T) {
		traces := fliptcapture.V2TraceBodies(t)
		if len(traces) != 4 {
			t.Fatalf("%d captured trace bodies, want 4", len(traces))
		}
		prom, stop := startV2Pipeline(t, promBin, []string{"OTELCOL_FLIPT_DERIVE_SERVER_EVALUATIONS=true"},
			"--set=connectors.evaluation_metrics.labels=v2",
			"--set=connectors.evaluation_metrics.flush_interval=500ms")
		first := countEvaluationEvents(t, traces[:2])
		postTraceBodies(t, prom.otlp, traces[:2])
		prom.waitFor(t, "the first round derived and scraped", fmt.Sprintf(`sum(flipt_evaluations_requests_total{evaluation_side="server"}) == %d`, first))
		prom.waitScrapes(t, 2)
		all := first + countEvaluationEvents(t, traces[2:])
		postTraceBodies(t, prom.otlp, traces[2:])
		prom.waitFor(t, "the second round derived and scraped", fmt.Sprintf(`sum(flipt_evaluations_requests_total{evaluation_side="server"}) == %d`, all))
		prom.waitScrapes(t, 2)

		absent := map[string]string{
			"flipt_evaluations_errors_total": "no evaluation failed in the evaluator (Flipt's 404, 400 and 401 are counted nowhere)",
			"flipt_server_errors_total":      "Flipt's own counter; not derived from traces",
		}
		queried, empty := prom.runDashboards(t, v2, checks(v2QueriesWithoutDataFromTraces, absent))
		t.Logf("%d v2 dashboard queries run on the derived series, %d with data, %d listed as empty", queried, queried-empty, empty)
		prom.checkVariables(t, v2[0])
		prom.checkAbsent(t, absent)
		// Flipt's own counts of the run the traces come from, series for
		// series (its server errors are not derivable).
		compareSeries(t, "Flipt's own /metrics", keep(fliptOwn, v2ComparedSeries), prom.fliptSeries(t, v2ComparedSeries, `evaluation_side="server"`))
		prom.checkV2Rules(t)
		stop()
	})
}

// checkV2Rules: every recording rule on Flipt v2's label names has values,
// each with its flag, and the v1 evaluation rules, evaluated with them in
// one group, have none: Flipt v2's series stay out of them.
func (p v2Prometheus) checkV2Rules(t *testing.T) {
	t.Helper()
	rules, err := dashboards.Rules()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range rules {
		if strings.HasPrefix(r.Record, v2RulePrefix) {
			p.waitFor(t, "recording rule "+r.Record, r.Record+`{flipt_flag!=""}`)
			n++
		}
	}
	if n == 0 {
		t.Fatalf("no recording rule named %s*", v2RulePrefix)
	}
	for _, r := range rules {
		if strings.HasPrefix(r.Record, "flipt:evaluations_") {
			if got := p.query(t, r.Record); len(got) != 0 {
				t.Errorf("v1 recording rule %s took Flipt v2's series: %v", r.Record, got)
			}
		}
	}
}

// v2Prometheus is a Prometheus scraping a collector on the default pipeline.
type v2Prometheus struct {
	*prometheusServer
	otlp string // the collector's OTLP/HTTP address
}

// startV2Pipeline runs the binary on its default pipeline, with extra
// environment and args, and a Prometheus scraping it; stop stops the
// collector and checks it logged no error.
func startV2Pipeline(t *testing.T, promBin string, extraEnv []string, args ...string) (v2Prometheus, func()) {
	t.Helper()
	env := newDefaultPipelineEnv(t)
	col := e2etest.Start(t, e2etest.Options{Env: append(env.vars(), extraEnv...), Args: args})
	col.WaitHealthy("http://" + env.health)
	prom := startPrometheus(t, promBin, env.prom, "127.0.0.1:"+env.telemetry)
	return v2Prometheus{prom, env.http}, func() {
		t.Helper()
		col.Signal(syscall.SIGTERM)
		if err := col.Wait(30 * time.Second); err != nil {
			t.Fatalf("collector did not stop cleanly: %v", err)
		}
		if strings.Contains(col.Output(), "\terror\t") {
			t.Errorf("the collector logged an error while serving the dashboard's series:\n%s", col.Output())
		}
	}
}

// capturedPost is one POST Flipt made, with the headers it sent.
type capturedPost struct {
	name    string
	body    []byte
	headers map[string]string
}

// fliptV2MetricsBodies reads the /v1/metrics bodies Flipt v2 pushed, in
// arrival order, with the Content-Type and User-Agent of each POST.
func fliptV2MetricsBodies(t *testing.T) []capturedPost {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(fliptcapture.V2Dir(), "otlp-metrics-run", "otlp", "*-v1_metrics.bin"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no captured v2 metrics bodies: %v", err)
	}
	sort.Strings(paths)
	var out []capturedPost
	for _, p := range paths {
		body, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := os.ReadFile(strings.TrimSuffix(p, ".bin") + ".meta.json")
		if err != nil {
			t.Fatal(err)
		}
		var meta struct {
			Headers [][2]string `json:"headers"`
			BodyLen int         `json:"body_len"`
		}
		if err := json.Unmarshal(raw, &meta); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if meta.BodyLen != len(body) {
			t.Fatalf("%s: %d bytes, its meta says %d", p, len(body), meta.BodyLen)
		}
		post := capturedPost{name: filepath.Base(p), body: body, headers: map[string]string{}}
		for _, h := range meta.Headers {
			post.headers[strings.ToLower(h[0])] = h[1]
		}
		out = append(out, post)
	}
	return out
}

func postV2Metrics(t *testing.T, addr string, posts []capturedPost) {
	t.Helper()
	for _, p := range posts {
		r := e2etest.Post(t, "http://"+addr+"/v1/metrics", p.headers["content-type"], p.body,
			"User-Agent", p.headers["user-agent"])
		if r.Status != 200 {
			t.Fatalf("%s: %d %s", p.name, r.Status, r.Body)
		}
	}
}

// countEvaluationEvents counts Flipt v2's flipt.flag_evaluation span events,
// one per evaluated flag.
func countEvaluationEvents(t *testing.T, bodies [][]byte) int {
	t.Helper()
	var n int
	for i, body := range bodies {
		req := ptraceotlp.NewExportRequest()
		if err := req.UnmarshalProto(body); err != nil {
			t.Fatalf("trace body %d: %v", i+1, err)
		}
		rss := req.Traces().ResourceSpans()
		for i := 0; i < rss.Len(); i++ {
			sss := rss.At(i).ScopeSpans()
			for j := 0; j < sss.Len(); j++ {
				spans := sss.At(j).Spans()
				for k := 0; k < spans.Len(); k++ {
					events := spans.At(k).Events()
					for e := 0; e < events.Len(); e++ {
						if events.At(e).Name() == "flipt.flag_evaluation" {
							n++
						}
					}
				}
			}
		}
	}
	return n
}

// seriesKey names a series by its metric name and flipt_* labels, leaving
// out empty values as Prometheus does.
func seriesKey(name string, labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k, v := range labels {
		if strings.HasPrefix(k, "flipt_") && v != "" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%q", k, labels[k])
	}
	return name + "{" + strings.Join(parts, ",") + "}"
}

// fliptV2OwnSeries reads Flipt v2's own /metrics after the traced run: its
// evaluation and server error series by flipt_* labels.
func fliptV2OwnSeries(t *testing.T) map[string]float64 {
	t.Helper()
	f, err := os.Open(filepath.Join(fliptcapture.V2Dir(), "metrics-after.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(f)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for name, fam := range families {
		for _, m := range fam.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			switch fam.GetType() {
			case dto.MetricType_COUNTER:
				out[seriesKey(name, labels)] = m.GetCounter().GetValue()
			case dto.MetricType_HISTOGRAM:
				out[seriesKey(name+"_count", labels)] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return keep(out, v2ComparedOwnSeries)
}

// lastBodySeries reads Flipt's last OTLP body as the prometheus exporter
// names its series (monotonic sums get _total, the ms histogram
// _milliseconds).
func lastBodySeries(t *testing.T, post capturedPost) map[string]float64 {
	t.Helper()
	req := pmetricotlp.NewExportRequest()
	if err := req.UnmarshalProto(post.body); err != nil {
		t.Fatalf("%s: %v", post.name, err)
	}
	out := map[string]float64{}
	labels := func(attrs pcommon.Map) map[string]string {
		m := map[string]string{}
		attrs.Range(func(k string, v pcommon.Value) bool {
			m[k] = v.AsString()
			return true
		})
		return m
	}
	rms := req.Metrics().ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		sms := rms.At(i).ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			ms := sms.At(j).Metrics()
			for k := 0; k < ms.Len(); k++ {
				m := ms.At(k)
				switch m.Type() {
				case pmetric.MetricTypeSum:
					for d := 0; d < m.Sum().DataPoints().Len(); d++ {
						dp := m.Sum().DataPoints().At(d)
						v := dp.DoubleValue()
						if dp.ValueType() == pmetric.NumberDataPointValueTypeInt {
							v = float64(dp.IntValue())
						}
						out[seriesKey(m.Name()+"_total", labels(dp.Attributes()))] = v
					}
				case pmetric.MetricTypeHistogram:
					for d := 0; d < m.Histogram().DataPoints().Len(); d++ {
						dp := m.Histogram().DataPoints().At(d)
						out[seriesKey(m.Name()+"_milliseconds_count", labels(dp.Attributes()))] = float64(dp.Count())
					}
				}
			}
		}
	}
	return keep(out, v2ComparedOwnSeries)
}

// keep returns the series of the named metrics.
func keep(series map[string]float64, names []string) map[string]float64 {
	out := map[string]float64{}
	for k, v := range series {
		for _, n := range names {
			if strings.HasPrefix(k, n+"{") {
				out[k] = v
			}
		}
	}
	return out
}

// fliptSeries queries Prometheus for the named metrics (with extra
// matchers) and keys them as seriesKey does.
func (p v2Prometheus) fliptSeries(t *testing.T, names []string, matchers string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, n := range names {
		for _, s := range p.query(t, n+"{"+matchers+"}") {
			key := seriesKey(n, s.Metric)
			if _, twice := out[key]; twice {
				t.Errorf("%s: served twice", key)
			}
			out[key] = s.float()
		}
	}
	return out
}

// compareSeries fails the test for every series that is missing, extra or
// of another value than want.
func compareSeries(t *testing.T, what string, want, got map[string]float64) {
	t.Helper()
	if len(want) == 0 {
		t.Fatalf("%s: no series to compare", what)
	}
	for k, w := range want {
		if g, ok := got[k]; !ok {
			t.Errorf("%s: %s = %v is not in Prometheus", what, k, w)
		} else if g != w {
			t.Errorf("%s: %s = %v, Prometheus has %v", what, k, w, g)
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s has no %s (Prometheus: %v)", what, k, g)
		}
	}
	t.Logf("%s: %d series compared", what, len(want))
}

// checkVariables: the variables list exactly the captured environments,
// namespaces and flags.
func (p v2Prometheus) checkVariables(t *testing.T, d dashboards.Dashboard) {
	t.Helper()
	vars := p.fillVariables(t, d)
	for name, want := range map[string]string{
		"environment": "(default|production)",
		"namespace":   "(checkout|default)",
		"flag":        "(banner_text|checkout_flow|color|dark_mode|express_checkout|gift_cards|kill_switch|legacy_cart|new_dashboard|payment_provider)",
	} {
		if vars[name] != want {
			t.Errorf("variable %s = %q, want %q", name, vars[name], want)
		}
	}
}
