package main

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"

	"github.com/otelcol-flipt/otelcol-flipt/dashboards"
	"github.com/otelcol-flipt/otelcol-flipt/internal/e2etest"
	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
)

// Queries that cannot return data on the captures, and why. The test fails
// when one of them does return data, so the list stays true.
var dashboardQueriesWithoutData = map[string]string{
	"otelcol-flipt-audit / Denied events by type and action / A": "the captured Flipt denied nothing (its token may do everything)",
	"otelcol-flipt-health / Exporter queues / A":                 "the default pipeline has no sending_queue: audit_file acknowledges only written events",
	"otelcol-flipt-health / Exporter queues / B":                 "the default pipeline has no sending_queue",
	"otelcol-flipt-health / Exporters: sent and failed / B":      "no log record failed to export",
	"otelcol-flipt-health / Exporters: sent and failed / D":      "no metric point failed to export",
	"otelcol-flipt-health / Series capped / B":                   "deltatocumulative dropped no point (it labels drops by error only when they happen)",
}

// Metrics the dashboards or rules name that do not exist on the captures:
// counters created at their first event. The test fails when one exists.
var metricsAbsentOnCaptures = map[string]string{
	"flipt_evaluations_errors_total":             "no evaluation failed in the captures",
	"otelcol_audit_file_write_errors":            "every write succeeded",
	"otelcol_exporter_send_failed_log_records":   "no log record failed to export",
	"otelcol_exporter_send_failed_metric_points": "no metric point failed to export",
	"otelcol_exporter_queue_size":                "no sending_queue in the default pipeline",
	"otelcol_exporter_queue_capacity":            "no sending_queue in the default pipeline",
	"otelcol_cache_metrics_overflow_lookups":     "max_series was not reached",
	"otelcol_audit_file_merge_evictions":         "merge.max_entries was not reached",
	"otelcol_cache_metrics_dedup_evictions":      "dedup.max_entries was not reached",
	"otelcol_cache_metrics_inference_evictions":  "the inference tables did not fill",
	"otelcol_flipt_audit_duplicates_suppressed":  "dedup_window is off in the default pipeline",
}

// Substitutions for Grafana's interval variables: Prometheus scrapes every
// second here, and the data is minutes old at most.
var grafanaIntervals = map[string]string{
	"__rate_interval": "1m", "__interval": "1s", "__interval_ms": "1000",
	"__range": "5m", "__range_s": "300", "__range_ms": "300000",
}

// The captured Flipt traffic goes through the default pipeline to a real
// Prometheus scraping both of the collector's endpoints with the README's
// scrape config and rules. Every panel's every query of every dashboard then
// returns data (except the listed ones), every metric the dashboards and
// rules name exists, every recording rule has a value, and the alerts fire
// as the traffic says: the one bad signature sent fires
// FliptWebhookSignatureFailures and nothing else fires.
func TestE2EDashboardsAgainstPrometheus(t *testing.T) {
	promBin := prometheusBinary(t)
	env := newDefaultPipelineEnv(t)
	col := e2etest.Start(t, e2etest.Options{
		Env: env.vars(),
		Args: []string{
			"--set=connectors.cache_metrics.flush_interval=500ms",
			// rotations for the audit file panel, on the first write of each second
			"--set=exporters.audit_file.rotation.interval=1s",
		},
	})
	col.WaitHealthy("http://" + env.health)
	prom := startPrometheus(t, promBin, env.prom, "127.0.0.1:"+env.telemetry)

	webhooks := uniqueCapturedWebhooks(t)
	traces := fliptcapture.TraceBodies(t)
	fliptMetrics := fliptOwnMetricsFromCapture(t)

	// Two rounds, each followed by two scrapes, so counters have moved
	// between samples and rate() has something to say.
	postWebhooks(t, env.webhook, webhooks[:len(webhooks)/2])
	postTraceBodies(t, env.http, traces[:5])
	postMetrics(t, env.http, fliptMetrics(0))
	prom.waitFor(t, "the first round scraped", `sum(flipt_evaluations_requests_total) == 0`)
	prom.waitScrapes(t, 2)

	postWebhooks(t, env.webhook, webhooks[len(webhooks)/2:])
	postTraceBodies(t, env.http, traces[5:])
	postMetrics(t, env.http, fliptMetrics(1))
	// A body with a bad signature.
	if r := e2etest.Post(t, "http://"+env.webhook+"/flipt/audit", "application/json", webhooks[0].Body,
		"X-Flipt-Webhook-Signature", strings.Repeat("0", 64)); r.Status != 401 {
		t.Fatalf("bad signature answered %d %s, want 401", r.Status, r.Body)
	}
	for what, q := range map[string]string{
		"Flipt's 51 evaluations":           `sum(flipt_evaluations_requests_total) == 51`,
		"53 audit events from each source": `min(sum by (flipt_audit_source) (flipt_audit_events_total)) == 53`,
		"53 audit events counted once":     `sum(max by (flipt_event_type, flipt_event_action, flipt_event_status, flipt_event_actor_authentication) (sum by (flipt_event_type, flipt_event_action, flipt_event_status, flipt_event_actor_authentication, flipt_audit_source) (flipt_audit_events_total))) == 53`,
		"the derived cache counters":       `sum(flipt_cache_hit_total{type="evaluation"}) == 35`,
		"the refused signature":            `sum(otelcol_flipt_audit_requests_refused{reason="signature"}) == 1`,
		"a rotation of the audit file":     `sum(otelcol_audit_file_rotations) >= 1`,
		"each event written once":          `sum(otelcol_audit_file_records_written) == 53`,
		"its second copy merged":           `sum(otelcol_audit_file_records_merged) == 53`,
	} {
		prom.waitFor(t, what, q)
	}
	prom.waitScrapes(t, 2)

	// Panels whose value the captures fix.
	wantValues := map[string]func(float64) bool{
		"otelcol-flipt-audit / Signature failures / A":              func(v float64) bool { return v == 1 },
		"otelcol-flipt-audit / Denied events / A":                   func(v float64) bool { return v == 0 },
		"otelcol-flipt-audit / Time since the last audit event / A": func(v float64) bool { return v >= 0 && v < 300 },
		"otelcol-flipt-evaluations / Evaluation error ratio / A":    func(v float64) bool { return v == 0 },
	}
	var v1 []dashboards.Dashboard
	for _, d := range loadDashboards(t) {
		if d.UID != v2EvaluationsUID { // fed by Flipt v2: TestE2EDashboardsV2AgainstPrometheus
			v1 = append(v1, d)
		}
	}
	queried, empty := prom.runDashboards(t, v1, dashboardChecks{
		withoutData: dashboardQueriesWithoutData, absent: metricsAbsentOnCaptures, values: wantValues,
	})
	t.Logf("%d dashboard queries run, %d with data, %d listed as empty on the captures", queried, queried-empty, empty)

	rules, err := dashboards.Rules()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rules {
		prom.checkNames(t, r.Name(), r.Expr, nil, metricsAbsentOnCaptures)
		if r.Record != "" && !strings.HasPrefix(r.Record, v2RulePrefix) { // v2's: TestE2EDashboardsV2AgainstPrometheus
			prom.waitFor(t, "recording rule "+r.Record, r.Record)
		}
	}
	prom.waitFor(t, "FliptWebhookSignatureFailures firing", `ALERTS{alertname="FliptWebhookSignatureFailures", alertstate="firing"}`)
	if firing := prom.query(t, `ALERTS{alertname!="FliptWebhookSignatureFailures"}`); len(firing) != 0 {
		t.Errorf("alerts the captures do not explain: %v", firing)
	}
	prom.checkAbsent(t, metricsAbsentOnCaptures)

	col.Signal(syscall.SIGTERM)
	if err := col.Wait(30 * time.Second); err != nil {
		t.Fatalf("collector did not stop cleanly: %v", err)
	}
	if strings.Contains(col.Output(), "\terror\t") {
		t.Errorf("the collector logged an error while serving the dashboards' series:\n%s", col.Output())
	}
}

// prometheusBinary is Debian's prometheus, or skips the test without it
// (fails in CI, whose setup installs it) and under -short.
func prometheusBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary and Prometheus")
	}
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("prometheus not found in CI: .ci/run installs Debian's prometheus package")
		}
		t.Skip("prometheus not found: install Debian's prometheus package (apt-get install prometheus) to run the dashboards' queries")
	}
	return bin
}

func loadDashboards(t *testing.T) []dashboards.Dashboard {
	t.Helper()
	ds, err := dashboards.Load()
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func uniqueCapturedWebhooks(t *testing.T) []fliptcapture.WebhookRequest {
	seen := map[string]bool{}
	var out []fliptcapture.WebhookRequest
	for _, req := range append(fliptcapture.WebhookRequests(t, false), fliptcapture.WebhookRequests(t, true)...) {
		if !seen[string(req.Body)] {
			seen[string(req.Body)] = true
			out = append(out, req)
		}
	}
	return out
}

func postWebhooks(t *testing.T, addr string, reqs []fliptcapture.WebhookRequest) {
	t.Helper()
	for _, req := range reqs {
		r := e2etest.Post(t, "http://"+addr+"/flipt/audit", "application/json", req.Body,
			"X-Flipt-Webhook-Signature", req.Header("X-Flipt-Webhook-Signature"))
		if r.Status != 200 {
			t.Fatalf("webhook request %d: %d %s", req.Seq, r.Status, r.Body)
		}
	}
}

func postTraceBodies(t *testing.T, addr string, bodies [][]byte) {
	t.Helper()
	for i, body := range bodies {
		if r := e2etest.Post(t, "http://"+addr+"/v1/traces", "application/x-protobuf", body); r.Status != 200 {
			t.Fatalf("trace body %d: %d %s", i+1, r.Status, r.Body)
		}
	}
}

func postMetrics(t *testing.T, addr string, body []byte) {
	t.Helper()
	if r := e2etest.Post(t, "http://"+addr+"/v1/metrics", "application/x-protobuf", body); r.Status != 200 {
		t.Fatalf("metrics: %d %s", r.Status, r.Body)
	}
}

// fliptOwnMetricsFromCapture turns Flipt's flipt_* series of metrics.txt
// into the OTLP export Flipt pushes with metrics.exporter: otlp. The
// returned function scales every count (0: a fresh server, 1: the capture),
// keeping one start time so the two exports are one cumulative series.
func fliptOwnMetricsFromCapture(t *testing.T) func(scale float64) []byte {
	t.Helper()
	f, err := os.Open(fliptcapture.Path("metrics.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(f)
	if err != nil {
		t.Fatal(err)
	}
	start := pcommon.NewTimestampFromTime(time.Now().Add(-time.Hour))
	return func(scale float64) []byte {
		md := pmetric.NewMetrics()
		rm := md.ResourceMetrics().AppendEmpty()
		rm.Resource().Attributes().PutStr("service.name", "flipt")
		sm := rm.ScopeMetrics().AppendEmpty()
		sm.Scope().SetName("github.com/flipt-io/flipt")
		now := pcommon.NewTimestampFromTime(time.Now())
		names := make([]string, 0, len(families))
		for name := range families {
			if strings.HasPrefix(name, "flipt_") {
				names = append(names, name)
			}
		}
		sort.Strings(names)
		for _, name := range names {
			fam := families[name]
			m := sm.Metrics().AppendEmpty()
			m.SetDescription(fam.GetHelp())
			switch fam.GetType() {
			case dto.MetricType_COUNTER:
				// The exporter appends _total to monotonic sums again.
				m.SetName(strings.TrimSuffix(name, "_total"))
				sum := m.SetEmptySum()
				sum.SetIsMonotonic(true)
				sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
				for _, s := range fam.GetMetric() {
					dp := sum.DataPoints().AppendEmpty()
					putLabels(dp.Attributes(), s.GetLabel())
					dp.SetStartTimestamp(start)
					dp.SetTimestamp(now)
					dp.SetDoubleValue(math.Round(s.GetCounter().GetValue() * scale))
				}
			case dto.MetricType_GAUGE:
				m.SetName(name)
				for _, s := range fam.GetMetric() {
					dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
					putLabels(dp.Attributes(), s.GetLabel())
					dp.SetTimestamp(now)
					dp.SetDoubleValue(s.GetGauge().GetValue())
				}
			case dto.MetricType_HISTOGRAM:
				// Flipt names it flipt_evaluations_latency with unit ms.
				m.SetName(strings.TrimSuffix(name, "_milliseconds"))
				m.SetUnit("ms")
				h := m.SetEmptyHistogram()
				h.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
				for _, s := range fam.GetMetric() {
					dp := h.DataPoints().AppendEmpty()
					putLabels(dp.Attributes(), s.GetLabel())
					dp.SetStartTimestamp(start)
					dp.SetTimestamp(now)
					hist := s.GetHistogram()
					var below uint64
					for _, b := range hist.GetBucket() {
						if math.IsInf(b.GetUpperBound(), 1) {
							continue
						}
						dp.ExplicitBounds().Append(b.GetUpperBound())
						c := uint64(math.Round(float64(b.GetCumulativeCount()) * scale))
						dp.BucketCounts().Append(c - below)
						below = c
					}
					count := uint64(math.Round(float64(hist.GetSampleCount()) * scale))
					dp.BucketCounts().Append(count - below)
					dp.SetCount(count)
					dp.SetSum(hist.GetSampleSum() * scale)
				}
			}
		}
		body, err := pmetricotlp.NewExportRequestFromMetrics(md).MarshalProto()
		if err != nil {
			t.Fatal(err)
		}
		return body
	}
}

func putLabels(attrs pcommon.Map, labels []*dto.LabelPair) {
	for _, l := range labels {
		if !strings.HasPrefix(l.GetName(), "otel_scope_") {
			attrs.PutStr(l.GetName(), l.GetValue())
		}
	}
}

// prometheusServer is Debian's prometheus binary running on loopback.
type prometheusServer struct {
	base  string
	names map[string]bool
}

var scrapeTarget = regexp.MustCompile(`"localhost:(8889|8888)"`)

// startPrometheus runs prometheus with dashboards/prometheus/prometheus.yml,
// the README's config, pointed at the collector's two endpoints, scraping and
// evaluating rules every second, its storage in a temp dir.
func startPrometheus(t *testing.T, bin, exporter, telemetry string) *prometheusServer {
	t.Helper()
	dir := t.TempDir()
	cfg := string(dashboards.PrometheusYAML())
	for _, want := range []string{"scrape_interval: 15s", "evaluation_interval: 15s", `"localhost:8889"`, `"localhost:8888"`, "- otelcol-flipt.rules.yml"} {
		if !strings.Contains(cfg, want) {
			t.Fatalf("dashboards/prometheus/prometheus.yml no longer holds %q", want)
		}
	}
	cfg = strings.NewReplacer("scrape_interval: 15s", "scrape_interval: 1s", "evaluation_interval: 15s", "evaluation_interval: 1s").Replace(cfg)
	cfg = scrapeTarget.ReplaceAllStringFunc(cfg, func(s string) string {
		if strings.Contains(s, "8889") {
			return strconv.Quote(exporter)
		}
		return strconv.Quote(telemetry)
	})
	rules := filepath.Join(dir, "otelcol-flipt.rules.yml")
	if err := os.WriteFile(rules, dashboards.RulesYAML(), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := e2etest.FreeAddr(t)
	cmd := exec.Command(bin, "--config.file="+path, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	cmd.Dir = dir
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("prometheus output:\n%s", out.String())
		}
	})
	p := &prometheusServer{base: "http://" + addr}
	require.Eventually(t, func() bool {
		select {
		case <-done:
			return true // reported below
		default:
		}
		resp, err := promClient.Get(p.base + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	}, waitLimit, 100*time.Millisecond, "prometheus ready")
	select {
	case <-done:
		t.Fatalf("prometheus exited:\n%s", out.String())
	default:
	}
	return p
}

type sample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

func (s sample) float() float64 {
	str, _ := s.Value[1].(string)
	v, err := strconv.ParseFloat(str, 64)
	if err != nil {
		return math.NaN()
	}
	return v
}

func allNaN(res []sample) bool {
	for _, s := range res {
		if !math.IsNaN(s.float()) {
			return false
		}
	}
	return true
}

// api calls a Prometheus HTTP API endpoint and decodes its data.
func (p *prometheusServer) api(path string, params url.Values, data any) error {
	resp, err := promClient.Get(p.base + path + "?" + params.Encode())
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var env struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		return fmt.Errorf("%s: %d: %w", path, resp.StatusCode, err)
	}
	if env.Status != "success" {
		return fmt.Errorf("%s %v: %s", path, params, env.Error)
	}
	return json.Unmarshal(env.Data, data)
}

// tryQuery runs an instant query now; a scalar comes back as one sample.
func (p *prometheusServer) tryQuery(expr string) ([]sample, error) {
	var data struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	}
	if err := p.api("/api/v1/query", url.Values{"query": {expr}}, &data); err != nil {
		return nil, err
	}
	var out []sample
	switch data.ResultType {
	case "vector":
		err := json.Unmarshal(data.Result, &out)
		return out, err
	case "scalar":
		var v [2]any
		err := json.Unmarshal(data.Result, &v)
		return []sample{{Value: v}}, err
	}
	return nil, fmt.Errorf("query %s: result type %s", expr, data.ResultType)
}

func (p *prometheusServer) query(t *testing.T, expr string) []sample {
	t.Helper()
	res, err := p.tryQuery(expr)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func (p *prometheusServer) waitFor(t *testing.T, what, expr string) {
	t.Helper()
	require.Eventually(t, func() bool {
		res, err := p.tryQuery(expr)
		return err == nil && len(res) > 0
	}, waitLimit, 100*time.Millisecond, "%s: %s", what, expr)
}

// waitScrapes waits until both jobs have been scraped n more times.
func (p *prometheusServer) waitScrapes(t *testing.T, n int) {
	t.Helper()
	count := func() float64 {
		res, err := p.tryQuery(`min(count_over_time(up{job=~"otelcol-flipt|otelcol-flipt-exporter"}[1h]))`)
		if err != nil || len(res) == 0 {
			return 0
		}
		return res[0].float()
	}
	base := count()
	require.Eventually(t, func() bool { return count() >= base+float64(n) }, waitLimit, 100*time.Millisecond, "%d scrapes", n)
}

// fillVariables gives each query variable every value its label_values
// query finds, formatted as Grafana does for a multi-value Prometheus
// variable; a variable with no value fails the test.
func (p *prometheusServer) fillVariables(t *testing.T, d dashboards.Dashboard) map[string]string {
	t.Helper()
	vars := map[string]string{}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		sel, label, err := v.LabelValuesQuery()
		if err != nil {
			t.Fatal(err)
		}
		var values []string
		if err := p.api("/api/v1/label/"+label+"/values", url.Values{"match[]": {dashboards.Interpolate(sel, grafanaIntervals, vars)}}, &values); err != nil {
			t.Fatal(err)
		}
		if len(values) == 0 {
			t.Errorf("%s: variable %s has no value (label_values(%s, %s))", d.UID, v.Name, sel, label)
			vars[v.Name] = "none"
			continue
		}
		// Regex-escaped, then escaped again for the PromQL string, as
		// Grafana does.
		for i := range values {
			values[i] = strings.ReplaceAll(regexp.QuoteMeta(values[i]), `\`, `\\`)
		}
		if len(values) == 1 {
			vars[v.Name] = values[0]
		} else {
			vars[v.Name] = "(" + strings.Join(values, "|") + ")"
		}
	}
	return vars
}

// exists says whether Prometheus holds a series of that metric name.
func (p *prometheusServer) exists(t *testing.T, name string) bool {
	t.Helper()
	if p.names == nil {
		var names []string
		if err := p.api("/api/v1/label/__name__/values", url.Values{}, &names); err != nil {
			t.Fatal(err)
		}
		p.names = map[string]bool{}
		for _, n := range names {
			p.names[n] = true
		}
	}
	return p.names[name]
}

// checkNames fails the test for each metric an expression names that
// Prometheus does not hold, unless it is listed in absent.
func (p *prometheusServer) checkNames(t *testing.T, id, expr string, vars, absent map[string]string) {
	t.Helper()
	names, err := dashboards.MetricNames(dashboards.Interpolate(expr, grafanaIntervals, vars))
	if err != nil {
		t.Errorf("%s: %v", id, err)
		return
	}
	for _, n := range names {
		if _, listed := absent[n]; !listed && !p.exists(t, n) && !isRecordedName(n) {
			t.Errorf("%s: metric %s does not exist in Prometheus", id, n)
		}
	}
}

// checkAbsent fails the test for each metric listed as absent that exists,
// so the list stays true.
func (p *prometheusServer) checkAbsent(t *testing.T, absent map[string]string) {
	t.Helper()
	for name, why := range absent {
		if p.exists(t, name) {
			t.Errorf("%s exists now (listed as absent: %s); drop it from the list", name, why)
		}
	}
}

// dashboardChecks says what one source's data lets the dashboards show.
type dashboardChecks struct {
	withoutData map[string]string             // query ID → why it cannot have data
	absent      map[string]string             // metric name → why no series of it exists
	values      map[string]func(float64) bool // query ID → the value the data fixes
}

// runDashboards fills each dashboard's variables from Prometheus and runs
// its every query as Grafana would: each returns data that is not only NaN
// (and the fixed value where one is given) unless listed as without data,
// in which case it must return none; every metric named exists unless
// listed as absent. It returns how many queries ran and how many were
// listed as without data.
func (p *prometheusServer) runDashboards(t *testing.T, ds []dashboards.Dashboard, c dashboardChecks) (queried, empty int) {
	t.Helper()
	for _, d := range ds {
		vars := p.fillVariables(t, d)
		for _, q := range d.Queries() {
			expr := dashboards.Interpolate(q.Expr, grafanaIntervals, vars)
			res := p.query(t, expr)
			queried++
			if why, listed := c.withoutData[q.ID()]; listed {
				empty++
				if len(res) != 0 {
					t.Errorf("%s returns data now (listed as empty: %s); drop it from the list\n%s", q.ID(), why, expr)
				}
				continue
			}
			if len(res) == 0 {
				t.Errorf("%s: no data\n%s", q.ID(), expr)
			} else if allNaN(res) {
				t.Errorf("%s: only NaN\n%s", q.ID(), expr)
			} else if want, ok := c.values[q.ID()]; ok && (len(res) != 1 || !want(res[0].float())) {
				t.Errorf("%s: %v, not the value the captures give\n%s", q.ID(), res, expr)
			}
			p.checkNames(t, q.ID(), q.Expr, vars, c.absent)
		}
	}
	return queried, empty
}

// isRecordedName: recording rules' outputs (level:metric:operations).
func isRecordedName(n string) bool { return strings.Count(n, ":") == 2 }

var promClient = &http.Client{Timeout: 30 * time.Second}

// waitLimit bounds every wait: generous, as the machine may be busy.
const waitLimit = 90 * time.Second
