// Package bench holds benchmarks that compare otelcol-flipt's components with
// the contrib components that do the nearest job. It is a separate module so
// that the contrib baselines (and their test-only dependencies, which the Go
// module proxy here does not fully serve) stay out of the product's go.mod.
package bench
