package evaluationmetrics

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
)

// Steady state (every series exists) costs no allocation per span: on
// Flipt v1's and v2's captures, a whole export allocates nothing.
func TestNoAllocationsPerSpan(t *testing.T) {
	for name, tds := range map[string][]ptrace.Traces{"v1": fliptcapture.Traces(t), "v2": fliptcapture.V2Traces(t)} {
		h := newHarness(t, func(c *Config) { c.Dedup.Window = 0 })
		h.consume(t, tds...) // creates the series
		allocs := testing.AllocsPerRun(20, func() {
			for _, td := range tds {
				_ = h.c.ConsumeTraces(context.Background(), td)
			}
		})
		assert.Zero(t, allocs, name)
	}
}
