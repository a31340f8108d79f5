// Package spanrate reports the connector benchmarks' rates per span.
package spanrate

import "testing"

// Report reports spans/s and ns/span for b.N batches of spansPerBatch spans
// on average.
func Report(b *testing.B, spansPerBatch float64) {
	b.ReportMetric(spansPerBatch*float64(b.N)/b.Elapsed().Seconds(), "spans/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/(spansPerBatch*float64(b.N)), "ns/span")
}
