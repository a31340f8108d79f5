// Package cachemetrics provides the cache_metrics connector: it reads the
// traces of Flipt servers and emits cumulative cache hit, miss and error
// counters per cache and lookup type. It lives under processor/ for
// discoverability, but it must be a connector: a processor cannot move data
// from a traces pipeline into a metrics pipeline.
//
//go:generate sh -c "cd ../../tools && go tool mdatagen ../processor/cachemetrics/metadata.yaml"
package cachemetrics // import "github.com/otelcol-flipt/otelcol-flipt/processor/cachemetrics"
