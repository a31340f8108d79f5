// Package dashboards holds otelcol-flipt's Grafana dashboards and Prometheus
// rules (the JSON and YAML files beside this one), and reads them for the
// tests that check their structure and run their queries against a real
// Prometheus.
package dashboards

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"
)

//go:embed *.json
var jsonFiles embed.FS

// Datasource is a panel's, target's or variable's datasource reference.
type Datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// Dashboard is the part of a Grafana dashboard the checks read.
type Dashboard struct {
	File       string `json:"-"`
	UID        string `json:"uid"`
	Title      string `json:"title"`
	Templating struct {
		List []Variable `json:"list"`
	} `json:"templating"`
	Panels []Panel `json:"panels"`
}

// Variable is a templating variable.
type Variable struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Query      json.RawMessage `json:"query"`
	Definition string          `json:"definition"`
	Datasource *Datasource     `json:"datasource"`
	AllValue   string          `json:"allValue"`
	Current    json.RawMessage `json:"current"`
}

// Panel is a panel or a row; rows may hold collapsed panels.
type Panel struct {
	ID         int         `json:"id"`
	Type       string      `json:"type"`
	Title      string      `json:"title"`
	Datasource *Datasource `json:"datasource"`
	Targets    []Target    `json:"targets"`
	Panels     []Panel     `json:"panels"`
}

// Target is one query of a panel.
type Target struct {
	RefID      string      `json:"refId"`
	Datasource *Datasource `json:"datasource"`
	Expr       string      `json:"expr"`
}

// Query is one target with where it comes from.
type Query struct {
	Dashboard, Panel, RefID string
	Expr                    string
}

// ID names a query as "dashboard uid / panel title / refId".
func (q Query) ID() string { return q.Dashboard + " / " + q.Panel + " / " + q.RefID }

// Load reads every dashboard, sorted by file name.
func Load() ([]Dashboard, error) {
	names, err := fs.Glob(jsonFiles, "*.json")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var out []Dashboard
	for _, name := range names {
		raw, err := jsonFiles.ReadFile(name)
		if err != nil {
			return nil, err
		}
		var d Dashboard
		if err := json.Unmarshal(raw, &d); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		d.File = path.Base(name)
		out = append(out, d)
	}
	return out, nil
}

// AllPanels returns the panels, rows and the panels inside rows.
func (d Dashboard) AllPanels() []Panel {
	var out []Panel
	var walk func([]Panel)
	walk = func(ps []Panel) {
		for _, p := range ps {
			out = append(out, p)
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out
}

// Queries returns every panel's every target.
func (d Dashboard) Queries() []Query {
	var out []Query
	for _, p := range d.AllPanels() {
		for _, t := range p.Targets {
			out = append(out, Query{Dashboard: d.UID, Panel: p.Title, RefID: t.RefID, Expr: t.Expr})
		}
	}
	return out
}

var labelValues = regexp.MustCompile(`^label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$`)

// LabelValuesQuery splits a query variable's `label_values(selector,
// label)` into its parts.
func (v Variable) LabelValuesQuery() (selector, label string, err error) {
	m := labelValues.FindStringSubmatch(strings.TrimSpace(v.Definition))
	if m == nil {
		return "", "", fmt.Errorf("variable %s: definition %q is not label_values(selector, label)", v.Name, v.Definition)
	}
	return m[1], m[2], nil
}

// Interpolate replaces Grafana's variables in expr: $__rate_interval and
// friends from intervals, dashboard variables from vars (already formatted
// as Grafana formats them for Prometheus, e.g. "(a|b)" for several values).
// Longer names are replaced first so $__range_s is not read as $__range.
func Interpolate(expr string, intervals, vars map[string]string) string {
	all := make(map[string]string, len(intervals)+len(vars))
	for k, v := range intervals {
		all[k] = v
	}
	for k, v := range vars {
		all[k] = v
	}
	names := make([]string, 0, len(all))
	for k := range all {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool { return len(names[i]) > len(names[j]) })
	for _, k := range names {
		expr = strings.ReplaceAll(expr, "${"+k+"}", all[k])
		expr = strings.ReplaceAll(expr, "$"+k, all[k])
	}
	return expr
}
