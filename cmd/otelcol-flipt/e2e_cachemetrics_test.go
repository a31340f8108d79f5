package main

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"

	"github.com/otelcol-flipt/otelcol-flipt/internal/e2etest"
	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
)

// The default pipeline turns the captured Flipt traces into cache counters
// on /metrics. The expected counts were computed from the span trees (see
// processor/cachemetrics's capture test): 35 evaluation hits, 7 misses and
// 2 flag hits.
func TestE2ECacheMetricsFromCapturedTraces(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	env := newDefaultPipelineEnv(t)
	col := e2etest.Start(t, e2etest.Options{
		Env:  env.vars(),
		Args: []string{"--set=connectors.cache_metrics.flush_interval=500ms"},
	})
	col.WaitHealthy("http://" + env.health)

	for i, body := range fliptcapture.TraceBodies(t) {
		if r := e2etest.Post(t, "http://"+env.http+"/v1/traces", "application/x-protobuf", body); r.Status != 200 {
			t.Fatalf("trace body %d: %d %s", i+1, r.Status, r.Body)
		}
	}
	// Flipt pushing its own cache counters over OTLP to the same collector.
	if r := e2etest.Post(t, "http://"+env.http+"/v1/metrics", "application/x-protobuf", fliptOwnCacheMetrics(t)); r.Status != 200 {
		t.Fatalf("metrics: %d %s", r.Status, r.Body)
	}
	want := map[string]string{
		`flipt_cache_hit_total{cache="memory",job="flipt",otel_scope_name="github.com/flipt-io/flipt".*}`: "350",
		`flipt_cache_hit_total{.*cache="memory".*type="evaluation".*}`:                                    "35",
		`flipt_cache_miss_total{.*cache="memory".*type="evaluation".*}`:                                   "7",
		`flipt_cache_hit_total{.*cache="memory".*type="flag".*}`:                                          "2",
		`flipt_cache_miss_total{.*cache="memory".*type="flag".*}`:                                         "0",
		`flipt_cache_error_total{.*cache="memory".*type="evaluation".*}`:                                  "0",
	}
	var body string
	col.WaitFor("derived cache counters on /metrics", func() bool {
		body = e2etest.Get(t, "http://"+env.prom+"/metrics").Body
		for series, value := range want {
			if !regexp.MustCompile(`(?m)^` + series + ` ` + value + `$`).MatchString(body) {
				return false
			}
		}
		return true
	})
	for _, complaint := range []string{"collected before", "inconsistent", "has help", "error"} {
		if strings.Contains(strings.ToLower(col.Output()), complaint) {
			t.Fatalf("collector complained (%q) while serving both sets of counters:\n%s", complaint, col.Output())
		}
	}
}

// fliptOwnCacheMetrics is an OTLP export of the counters Flipt keeps itself
// (metrics.exporter: otlp), as in testdata/flipt-v1.61.1/metrics.txt.
func fliptOwnCacheMetrics(t *testing.T) []byte {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "flipt")
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName("github.com/flipt-io/flipt")
	for name, v := range map[string]int64{"flipt_cache_hit": 350, "flipt_cache_miss": 14} {
		m := sm.Metrics().AppendEmpty()
		m.SetName(name)
		m.SetDescription(map[string]string{"flipt_cache_hit": "The number of cache hits", "flipt_cache_miss": "The number of cache misses"}[name])
		sum := m.SetEmptySum()
		sum.SetIsMonotonic(true)
		sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		dp := sum.DataPoints().AppendEmpty()
		dp.Attributes().PutStr("cache", "memory")
		dp.SetStartTimestamp(pcommon.NewTimestampFromTime(time.Now().Add(-time.Hour)))
		dp.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
		dp.SetIntValue(v)
	}
	body, err := pmetricotlp.NewExportRequestFromMetrics(md).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	return body
}
