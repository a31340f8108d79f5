package main

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-flipt/otelcol-flipt/internal/e2etest"
	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
)

// oneCollectorConfig is the reference: the gateways' connectors in one
// collector fed over OTLP.
const oneCollectorConfig = `
extensions:
  health_check:
    endpoint: %[1]s
receivers:
  otlp:
    protocols:
      http:
        endpoint: %[2]s
connectors:
  cache_metrics:
    preset: flipt
    flush_interval: 200ms
  flipt_audit/traces: {}
exporters:
  prometheus:
    endpoint: %[3]s
  audit_file:
    path: %[4]s
service:
  extensions: [health_check]
  telemetry:
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [cache_metrics, flipt_audit/traces]
    metrics:
      receivers: [cache_metrics]
      exporters: [prometheus]
    logs:
      receivers: [flipt_audit/traces]
      exporters: [audit_file]
`

// smallExports splits the captured traces into one export per span and
// interleaves the traces (one span of each in turn), as concurrent
// requests on several Flipt replicas would: the spans of one trace arrive
// in many requests, far apart, mixed with other traces'.
func smallExports(t *testing.T) [][]byte {
	t.Helper()
	byTrace := map[pcommon.TraceID][][]byte{}
	var order []pcommon.TraceID
	for _, td := range fliptcapture.Traces(t) {
		for _, rs := range td.ResourceSpans().All() {
			for _, ss := range rs.ScopeSpans().All() {
				for _, span := range ss.Spans().All() {
					one := ptrace.NewTraces()
					ors := one.ResourceSpans().AppendEmpty()
					rs.Resource().CopyTo(ors.Resource())
					ors.SetSchemaUrl(rs.SchemaUrl())
					oss := ors.ScopeSpans().AppendEmpty()
					ss.Scope().CopyTo(oss.Scope())
					span.CopyTo(oss.Spans().AppendEmpty())
					body, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(one)
					require.NoError(t, err)
					id := span.TraceID()
					if _, ok := byTrace[id]; !ok {
						order = append(order, id)
					}
					byTrace[id] = append(byTrace[id], body)
				}
			}
		}
	}
	var out [][]byte
	for left := true; left; {
		left = false
		for _, id := range order {
			if spans := byTrace[id]; len(spans) > 0 {
				out = append(out, spans[0])
				byTrace[id] = spans[1:]
				left = true
			}
		}
	}
	return out
}

func postExports(t *testing.T, addr string, exports [][]byte) {
	t.Helper()
	for i, body := range exports {
		if r := e2etest.Post(t, "http://"+addr+"/v1/traces", "application/x-protobuf", body); r.Status != 200 {
			t.Fatalf("export %d: %d %s", i, r.Status, r.Body)
		}
	}
}

var cacheSeries = regexp.MustCompile(`(?m)^(flipt_cache_(?:hit|miss|error)_total)\{([^}]*)\} (\S+)$`)
var seriesLabel = regexp.MustCompile(`(cache|type)="([^"]*)"`)

// cacheCounters reads the derived cache counters on a /metrics page, keyed
// by name, cache and type.
func cacheCounters(t *testing.T, addr string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, m := range cacheSeries.FindAllStringSubmatch(e2etest.Get(t, "http://"+addr+"/metrics").Body, -1) {
		key := m[1]
		for _, l := range seriesLabel.FindAllStringSubmatch(m[2], -1) {
			key += "," + l[1] + "=" + l[2]
		}
		v, err := strconv.ParseFloat(m[3], 64)
		require.NoError(t, err)
		out[key] += v
	}
	return out
}

// derived is what the captured traces give one collector (see
// TestE2ECacheMetricsFromCapturedTraces): 35 evaluation hits, 7 misses
// and 2 flag hits.
var derived = map[string]float64{
	"flipt_cache_hit_total,cache=memory,type=evaluation":   35,
	"flipt_cache_miss_total,cache=memory,type=evaluation":  7,
	"flipt_cache_hit_total,cache=memory,type=flag":         2,
	"flipt_cache_miss_total,cache=memory,type=flag":        0,
	"flipt_cache_error_total,cache=memory,type=evaluation": 0,
}

func countersReach(got, want map[string]float64) bool {
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

func sumCounters(ms ...map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for _, m := range ms {
		for k, v := range m {
			out[k] += v
		}
	}
	return out
}

type gatewayRun struct {
	*exampleCollector
	col        *e2etest.Collector
	prom, path string
}

// Trace-aware load balancing on contrib's kafka exporter and receiver
// (examples/traces-{agent,gateway}-kafka.yaml): the captured traces split
// into one export per span, sent to one agent, reach two gateways keyed by
// trace ID; the gateways' derived cache counters sum to what one collector
// derives from the same exports, and every audit event in the traces is in
// exactly one gateway's file, once.
func TestE2ELoadBalancingKafka(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	exports := smallExports(t)
	want := fileLines(fliptcapture.Path("audit.log"))

	// One collector, the same exports.
	ref := struct{ health, http, prom, path string }{e2etest.FreeAddr(t), e2etest.FreeAddr(t), e2etest.FreeAddr(t), filepath.Join(t.TempDir(), "audit.log")}
	one := e2etest.StartConfig(t, fmt.Sprintf(oneCollectorConfig, ref.health, ref.http, ref.prom, ref.path))
	one.WaitHealthy("http://" + ref.health)
	postExports(t, ref.http, exports)
	one.WaitFor("one collector's counters", func() bool { return countersReach(cacheCounters(t, ref.prom), derived) })
	one.WaitFor("one collector's audit file", func() bool { return len(fileLines(ref.path)) >= len(want) })
	reference := cacheCounters(t, ref.prom)
	one.Stop()

	agentHTTP, gateways := startTwoTier(t)

	postExports(t, agentHTTP, exports)
	gateways[0].col.WaitFor("the gateways' counters to sum to one collector's", func() bool {
		return countersReach(sumCounters(cacheCounters(t, gateways[0].prom), cacheCounters(t, gateways[1].prom)), reference)
	})
	var lines []string
	gateways[0].col.WaitFor("every audit event in one of the files", func() bool {
		lines = append(fileLines(gateways[0].path), fileLines(gateways[1].path)...)
		return len(lines) >= len(want)
	})
	for _, g := range gateways {
		assert.NotEmpty(t, fileLines(g.path), "each gateway took a share of the traces")
	}
	slices.Sort(lines)
	sortedWant := slices.Clone(want)
	slices.Sort(sortedWant)
	assert.Equal(t, sortedWant, lines, "every audit event once, none lost, none in both files")
	got := sumCounters(cacheCounters(t, gateways[0].prom), cacheCounters(t, gateways[1].prom))
	assert.Equal(t, reference, got)
	t.Logf("%d exports; gateway shares: %d and %d audit events, counters %v and %v",
		len(exports), len(fileLines(gateways[0].path)), len(fileLines(gateways[1].path)),
		cacheCounters(t, gateways[0].prom), cacheCounters(t, gateways[1].prom))
}

// startTwoTier starts a Kafka broker with a 4-partition topic, one agent
// and two gateways of the examples, and waits until both gateways own
// partitions, so no rebalance moves one mid-run.
func startTwoTier(t *testing.T) (agentHTTP string, gateways []gatewayRun) {
	t.Helper()
	const topic, group = "flipt-traces", "otelcol-flipt-gateways"
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(4, topic), kfake.GroupMinSessionTimeout(time.Second))
	require.NoError(t, err)
	t.Cleanup(cluster.Close)
	brokers := "OTELCOL_FLIPT_KAFKA_BROKERS=" + cluster.ListenAddrs()[0]
	agentHTTP = e2etest.FreeAddr(t)
	agent := newExampleCollector(t, "traces-agent-kafka.yaml", brokers,
		"OTELCOL_FLIPT_OTLP_HTTP_ENDPOINT="+agentHTTP, "OTELCOL_FLIPT_OTLP_GRPC_ENDPOINT="+e2etest.FreeAddr(t))
	agent.start(t)
	for i := range 2 {
		g := gatewayRun{prom: e2etest.FreeAddr(t)}
		g.exampleCollector = newExampleCollector(t, "traces-gateway-kafka.yaml", brokers,
			fmt.Sprintf("OTELCOL_FLIPT_KAFKA_INSTANCE_ID=gateway-%d", i+1),
			"OTELCOL_FLIPT_PROMETHEUS_ENDPOINT="+g.prom, "OTELCOL_FLIPT_FLUSH_INTERVAL=200ms",
			// A killed gateway's partitions move after 3 s rather than 10.
			"OTELCOL_FLIPT_KAFKA_SESSION_TIMEOUT=3s", "OTELCOL_FLIPT_KAFKA_HEARTBEAT_INTERVAL=500ms")
		g.path = filepath.Join(g.dir, "flipt-audit.log")
		g.env = append(g.env, "OTELCOL_FLIPT_AUDIT_FILE="+g.path)
		g.col = g.start(t)
		gateways = append(gateways, g)
	}
	// Both gateways own partitions before any span is sent, so no rebalance
	// moves a partition mid-run.
	cl, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...))
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	adm := kadm.NewClient(cl)
	require.Eventually(t, func() bool {
		groups, err := adm.DescribeGroups(context.Background(), group)
		if err != nil {
			return false
		}
		g := groups[group]
		if g.State != "Stable" || len(g.Members) != 2 {
			return false
		}
		for _, m := range g.Members {
			if a, ok := m.Assigned.AsConsumer(); !ok || len(a.Topics) == 0 || len(a.Topics[0].Partitions) == 0 {
				return false
			}
		}
		return true
	}, 60*time.Second, 50*time.Millisecond, "two gateways each owning partitions")

	return agentHTTP, gateways
}

// One gateway SIGKILLed mid-run: its partitions move to the survivor once
// its session times out, from its last committed offset. No audit event is
// lost (every one is in one of the files; those the dead gateway wrote but
// had not committed are written again by the survivor, counted); the dead
// gateway's counters die with it, and traces cut by the kill are inferred
// from the spans the survivor reads. The figures are logged.
func TestE2ELoadBalancingKafkaGatewayKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	exports := smallExports(t)
	want := fileLines(fliptcapture.Path("audit.log"))
	agentHTTP, gateways := startTwoTier(t)
	survivor, killed := gateways[0], gateways[1]

	half := len(exports) / 2
	postExports(t, agentHTTP, exports[:half])
	killed.col.WaitFor("the gateway to write its share", func() bool { return len(fileLines(killed.path)) > 0 })
	lostCounters := cacheCounters(t, killed.prom)
	killed.col.Signal(syscall.SIGKILL)
	require.Error(t, killed.col.Wait(30*time.Second), "killed")
	postExports(t, agentHTTP, exports[half:])

	var lines []string
	survivor.col.WaitFor("every audit event in one of the files", func() bool {
		lines = append(fileLines(survivor.path), fileLines(killed.path)...)
		return countDistinct(lines) >= len(want)
	})
	// The survivor's counters settle once it has read every partition.
	var last map[string]float64
	steady := 0
	survivor.col.WaitFor("the survivor's counters to settle", func() bool {
		now := cacheCounters(t, survivor.prom)
		if countersReach(now, last) && countersReach(last, now) {
			steady++
		} else {
			steady = 0
		}
		last = now
		time.Sleep(200 * time.Millisecond) // one flush interval between scrapes
		return steady >= 5
	})
	slices.Sort(lines)
	dups := len(lines) - countDistinct(lines)
	sortedWant := slices.Clone(want)
	slices.Sort(sortedWant)
	assert.Equal(t, sortedWant, slices.Compact(slices.Clone(lines)), "no audit event lost")
	t.Logf("gateway killed with %d audit events written; %d of %d events in the files, %d written twice",
		len(fileLines(killed.path)), countDistinct(lines), len(want), dups)
	t.Logf("counters: survivor %v; the killed gateway's last scrape %v; one collector %v",
		last, lostCounters, derived)
}
