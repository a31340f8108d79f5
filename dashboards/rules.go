package dashboards

import (
	_ "embed"
	"fmt"

	"go.yaml.in/yaml/v3"
)

// RulesFile is the path of the rule file under dashboards/.
const RulesFile = "prometheus/otelcol-flipt.rules.yml"

//go:embed prometheus/otelcol-flipt.rules.yml
var rulesYAML []byte

//go:embed prometheus/prometheus.yml
var prometheusYAML []byte

// Rule is a recording or alerting rule.
type Rule struct {
	Record      string            `yaml:"record"`
	Alert       string            `yaml:"alert"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

// Name is the rule's record or alert name.
func (r Rule) Name() string {
	if r.Alert != "" {
		return r.Alert
	}
	return r.Record
}

// Rules reads every rule of the rule file, in order.
func Rules() ([]Rule, error) {
	var f struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []Rule `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(rulesYAML, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", RulesFile, err)
	}
	var out []Rule
	for _, g := range f.Groups {
		out = append(out, g.Rules...)
	}
	return out, nil
}

// RulesYAML is the rule file's content.
func RulesYAML() []byte { return append([]byte(nil), rulesYAML...) }

// PrometheusYAML is prometheus/prometheus.yml, the scrape config the README
// shows and the end-to-end test runs.
func PrometheusYAML() []byte { return append([]byte(nil), prometheusYAML...) }
