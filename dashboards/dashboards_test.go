package dashboards

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
)

// The uids are the dashboards' identity in Grafana (links, provisioning):
// changing one breaks users' bookmarks.
var wantUIDs = map[string]string{
	"flipt-audit.json":          "otelcol-flipt-audit",
	"flipt-cache.json":          "otelcol-flipt-cache",
	"flipt-evaluations.json":    "otelcol-flipt-evaluations",
	"flipt-evaluations-v2.json": "otelcol-flipt-evaluations-v2",
	"otelcol-flipt-health.json": "otelcol-flipt-health",
}

var intervals = map[string]string{
	"__rate_interval": "1m", "__interval": "15s", "__interval_ms": "15000",
	"__range": "1h", "__range_s": "3600", "__range_ms": "3600000",
}

func load(t *testing.T) []Dashboard {
	t.Helper()
	ds, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != len(wantUIDs) {
		t.Fatalf("%d dashboards, want %d", len(ds), len(wantUIDs))
	}
	return ds
}

// placeholders stands each dashboard variable in for a value that marks it.
func placeholders(d Dashboard) map[string]string {
	vars := map[string]string{}
	for _, v := range d.Templating.List {
		vars[v.Name] = "__var_" + v.Name + "__"
	}
	return vars
}

func TestDashboardUIDsAreStableAndUnique(t *testing.T) {
	seen := map[string]string{}
	for _, d := range load(t) {
		if d.UID != wantUIDs[d.File] {
			t.Errorf("%s: uid %q, want %q", d.File, d.UID, wantUIDs[d.File])
		}
		if other, ok := seen[d.UID]; ok {
			t.Errorf("uid %q in %s and %s", d.UID, d.File, other)
		}
		seen[d.UID] = d.File
		if d.Title == "" {
			t.Errorf("%s: no title", d.File)
		}
	}
}

func TestPanelIDsAreUnique(t *testing.T) {
	for _, d := range load(t) {
		seen := map[int]string{}
		for _, p := range d.AllPanels() {
			if p.ID <= 0 {
				t.Errorf("%s: panel %q has no id", d.File, p.Title)
			}
			if other, ok := seen[p.ID]; ok {
				t.Errorf("%s: panel id %d used by %q and %q", d.File, p.ID, p.Title, other)
			}
			seen[p.ID] = p.Title
		}
	}
}

func TestDatasourceIsTheVariable(t *testing.T) {
	want := Datasource{Type: "prometheus", UID: "${datasource}"}
	for _, d := range load(t) {
		var found bool
		for _, v := range d.Templating.List {
			switch {
			case v.Name == "datasource":
				var q string
				_ = json.Unmarshal(v.Query, &q)
				found = v.Type == "datasource" && q == "prometheus"
			case v.Type == "query":
				if v.Datasource == nil || *v.Datasource != want {
					t.Errorf("%s: variable %s datasource %+v, want %+v", d.File, v.Name, v.Datasource, want)
				}
			}
		}
		if !found {
			t.Errorf("%s: no datasource variable of type datasource for prometheus", d.File)
		}
		for _, p := range d.AllPanels() {
			if p.Type == "row" {
				continue
			}
			if p.Datasource == nil || *p.Datasource != want {
				t.Errorf("%s: panel %q datasource %+v, want %+v", d.File, p.Title, p.Datasource, want)
			}
			if len(p.Targets) == 0 {
				t.Errorf("%s: panel %q has no query", d.File, p.Title)
			}
			for _, tg := range p.Targets {
				if tg.Datasource == nil || *tg.Datasource != want {
					t.Errorf("%s: panel %q query %s datasource %+v, want %+v", d.File, p.Title, tg.RefID, tg.Datasource, want)
				}
			}
		}
	}
}

func TestEveryQueryParses(t *testing.T) {
	for _, d := range load(t) {
		vars := placeholders(d)
		refs := map[string]bool{}
		for _, q := range d.Queries() {
			if strings.TrimSpace(q.Expr) == "" {
				t.Errorf("%s: empty query", q.ID())
				continue
			}
			expr := Interpolate(q.Expr, intervals, vars)
			if strings.Contains(expr, "$") {
				t.Errorf("%s: uses a variable the dashboard does not define: %s", q.ID(), q.Expr)
			}
			if _, err := ParseExpr(expr); err != nil {
				t.Errorf("%s: %v\n%s", q.ID(), err, q.Expr)
			}
			if refs[q.Panel+"/"+q.RefID] {
				t.Errorf("%s: refId used twice in the panel", q.ID())
			}
			refs[q.Panel+"/"+q.RefID] = true
		}
		for _, v := range d.Templating.List {
			if v.Type != "query" {
				continue
			}
			sel, _, err := v.LabelValuesQuery()
			if err != nil {
				t.Error(err)
				continue
			}
			if _, err := ParseExpr(Interpolate(sel, intervals, vars)); err != nil {
				t.Errorf("%s: variable %s: %v", d.File, v.Name, err)
			}
		}
	}
}

var hostPort = regexp.MustCompile(`localhost|\b\d{1,3}(\.\d{1,3}){3}\b|:\d{2,5}\b`)

// A dashboard shows whichever collector the user picks: the instance comes
// from the $instance variable, never from the JSON.
func TestNoHardCodedInstance(t *testing.T) {
	for _, d := range load(t) {
		vars := placeholders(d)
		for _, q := range d.Queries() {
			expr := Interpolate(q.Expr, intervals, vars)
			if hostPort.MatchString(expr) {
				t.Errorf("%s: names a host or port: %s", q.ID(), q.Expr)
			}
			ms, err := Matchers(expr)
			if err != nil {
				continue // reported by TestEveryQueryParses
			}
			for _, m := range ms {
				if (m.Name == "instance" || m.Name == "job") && m.Value != vars[m.Name] {
					t.Errorf("%s: %s matcher %q is not the $%s variable", q.ID(), m.Name, m.Value, m.Name)
				}
			}
		}
		for _, v := range d.Templating.List {
			if hostPort.Match(v.Current) || hostPort.MatchString(v.Definition) {
				t.Errorf("%s: variable %s holds a host or port: %s %s", d.File, v.Name, v.Definition, v.Current)
			}
		}
	}
}

// Audit activity is labelled by type, action, status, authentication
// method and source only: an actor's email, name or ip, or a flag key, would
// make a series per person or per flag.
func TestAuditCountsCarryNoPersonalLabels(t *testing.T) {
	conf, err := confmaptest.LoadConf(filepath.Join("..", "config", "default.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sub, err := conf.Sub("connectors::count/audit::logs")
	if err != nil {
		t.Fatal(err)
	}
	var metrics map[string]struct {
		Attributes []struct {
			Key string `mapstructure:"key"`
		} `mapstructure:"attributes"`
	}
	if err := sub.Unmarshal(&metrics, confmap.WithIgnoreUnused()); err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{
		"flipt.event.type": true, "flipt.event.action": true, "flipt.event.status": true,
		"flipt.event.actor.authentication": true, "flipt.audit.source": true,
	}
	if len(metrics) == 0 {
		t.Fatal("count/audit defines no metric")
	}
	for name, m := range metrics {
		if len(m.Attributes) == 0 {
			t.Errorf("%s: no attributes", name)
		}
		for _, a := range m.Attributes {
			if !allowed[a.Key] {
				t.Errorf("%s: attribute %q is not one of %v", name, a.Key, allowed)
			}
		}
	}
	personal := regexp.MustCompile(`flipt_event_actor_(email|ip|name|picture)|client_address|flipt_event_payload`)
	for _, d := range load(t) {
		for _, q := range d.Queries() {
			if personal.MatchString(q.Expr) {
				t.Errorf("%s: uses a personal label: %s", q.ID(), q.Expr)
			}
		}
	}
}

// Every alert says what happened and has a runbook entry in the README.
func TestAlertsHaveSummaryAndRunbook(t *testing.T) {
	rules, err := Rules()
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	var alerts int
	for _, r := range rules {
		if _, err := ParseExpr(r.Expr); err != nil {
			t.Errorf("%s: %v", r.Name(), err)
		}
		if r.Alert == "" {
			continue
		}
		alerts++
		if r.Annotations["summary"] == "" || r.Labels["severity"] == "" {
			t.Errorf("%s: needs a summary annotation and a severity label", r.Alert)
		}
		if !regexp.MustCompile(`(?m)^### ` + regexp.QuoteMeta(r.Alert) + `$`).Match(readme) {
			t.Errorf("%s: no runbook heading \"### %s\" in dashboards/README.md", r.Alert, r.Alert)
		}
	}
	if alerts == 0 {
		t.Fatal("no alerts")
	}
}

// The README's snippets are the files the end-to-end test runs, verbatim.
func TestREADMESnippetsAreTheFilesInUse(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	provisioning, err := os.ReadFile("grafana-provisioning.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string][]byte{
		"dashboards/prometheus/prometheus.yml": PrometheusYAML(),
		"dashboards/grafana-provisioning.yaml": provisioning,
	} {
		if !strings.Contains(string(readme), "```yaml\n"+string(content)+"```\n") {
			t.Errorf("README.md has no yaml block equal to %s", name)
		}
	}
}

// Flipt v2 renamed every label (flipt_flag for flag, ...): a v1 name in the
// v2 dashboard would select nothing on v2's series and show an empty panel.
func TestV2DashboardUsesV2LabelNames(t *testing.T) {
	allowed := map[string]bool{
		"flipt_environment": true, "flipt_namespace": true, "flipt_flag": true, "flipt_match": true,
		"flipt_reason": true, "flipt_value": true, "flipt_segments": true, "flipt_flag_type": true,
		"le": true, "evaluation_side": true,
	}
	var found bool
	for _, d := range load(t) {
		if d.UID != "otelcol-flipt-evaluations-v2" {
			continue
		}
		found = true
		vars := placeholders(d)
		check := func(id, expr string) {
			names, err := LabelNames(Interpolate(expr, intervals, vars))
			if err != nil {
				t.Errorf("%s: %v", id, err)
				return
			}
			for _, n := range names {
				if !allowed[n] {
					t.Errorf("%s: label %q is not one of Flipt v2's: %s", id, n, expr)
				}
			}
		}
		for _, q := range d.Queries() {
			check(q.ID(), q.Expr)
		}
		for _, v := range d.Templating.List {
			if v.Type != "query" {
				continue
			}
			sel, label, err := v.LabelValuesQuery()
			if err != nil {
				t.Error(err)
				continue
			}
			check(d.File+" variable "+v.Name, sel)
			if !allowed[label] {
				t.Errorf("%s: variable %s lists label %q, not one of Flipt v2's", d.File, v.Name, label)
			}
		}
		for _, want := range []string{"environment", "namespace", "flag"} {
			if _, ok := vars[want]; !ok {
				t.Errorf("%s: no %s variable", d.File, want)
			}
		}
	}
	if !found {
		t.Fatal("no dashboard with uid otelcol-flipt-evaluations-v2")
	}
}
