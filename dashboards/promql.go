package dashboards

import (
	"sort"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

var promql = parser.NewParser(parser.Options{})

// ParseExpr parses a PromQL expression (variables already interpolated).
func ParseExpr(expr string) (parser.Expr, error) { return promql.ParseExpr(expr) }

// MetricNames returns the metric names an expression selects, sorted and
// without duplicates.
func MetricNames(expr string) ([]string, error) {
	e, err := promql.ParseExpr(expr)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, sel := range parser.ExtractSelectors(e) {
		for _, m := range sel {
			if m.Name == model.MetricNameLabel && m.Type == labels.MatchEqual {
				seen[m.Value] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}

// Matchers returns every label matcher of the expression's selectors.
func Matchers(expr string) ([]*labels.Matcher, error) {
	e, err := promql.ParseExpr(expr)
	if err != nil {
		return nil, err
	}
	var out []*labels.Matcher
	for _, sel := range parser.ExtractSelectors(e) {
		out = append(out, sel...)
	}
	return out, nil
}

// LabelNames returns the label names an expression matches on or groups
// by (without the metric name), sorted and without duplicates.
func LabelNames(expr string) ([]string, error) {
	e, err := promql.ParseExpr(expr)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		switch n := n.(type) {
		case *parser.VectorSelector:
			for _, m := range n.LabelMatchers {
				if m.Name != model.MetricNameLabel {
					seen[m.Name] = true
				}
			}
		case *parser.AggregateExpr:
			for _, l := range n.Grouping {
				seen[l] = true
			}
		}
		return nil
	})
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}
