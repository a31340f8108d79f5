package evaluationmetrics

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
)

// Steady state (every series exists) costs no allocation per span: on
// Flipt v1's and v2's captures, replayed with fresh trace IDs so every span
// is new to the dedup table and counted, a whole export allocates nothing.
func TestNoAllocationsPerSpan(t *testing.T) {
	round := uint32(0) // shared: the batches are rewritten in place
	for name, tds := range map[string][]ptrace.Traces{"v1": fliptcapture.Traces(t), "v2": fliptcapture.V2Traces(t)} {
		for _, labels := range []string{LabelsV1, LabelsV2} {
			h := newHarness(t, func(c *Config) { c.Labels = labels })
			h.consume(t, tds...) // creates the series
			allocs := testing.AllocsPerRun(20, func() {
				round++
				for _, td := range tds {
					fliptcapture.Retrace(td, round)
					_ = h.c.ConsumeTraces(context.Background(), td)
				}
			})
			assert.Zero(t, allocs, "%s captures, labels %s", name, labels)
			assert.Zero(t, h.skipped(t)["duplicate"], "every replay counted")
		}
	}
}
