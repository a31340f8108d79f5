package examples

import (
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/otelcol-flipt/otelcol-flipt/internal/e2etest"
	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
)

// flipt-v2.yaml: a real Flipt v2.11.0's captured trace exports give its 422
// evaluations as flipt_evaluations_requests_total under Flipt v2's labels.
func TestFliptV2Example(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	health, http, prom := e2etest.FreeAddr(t), e2etest.FreeAddr(t), e2etest.FreeAddr(t)
	col := e2etest.Start(t, e2etest.Options{
		Args: []string{"--config", filepath.Join(mustAbs(t, "."), "flipt-v2.yaml"),
			"--set=connectors.evaluation_metrics.flush_interval=500ms"},
		Env: []string{"OTELCOL_FLIPT_HEALTH_ENDPOINT=" + health, "OTELCOL_FLIPT_OTLP_HTTP_ENDPOINT=" + http,
			"OTELCOL_FLIPT_OTLP_GRPC_ENDPOINT=" + e2etest.FreeAddr(t), "OTELCOL_FLIPT_PROMETHEUS_ENDPOINT=" + prom},
	})
	col.WaitHealthy("http://" + health)
	for i, body := range fliptcapture.V2TraceBodies(t) {
		if r := e2etest.Post(t, "http://"+http+"/v1/traces", "application/x-protobuf", body); r.Status != 200 {
			t.Fatalf("trace body %d: %d %s", i+1, r.Status, r.Body)
		}
	}
	series := regexp.MustCompile(`(?m)^flipt_evaluations_requests_total\{[^\n]*flipt_flag="[^"]+"[^\n]*\} (\d+)$`)
	total := 0
	col.WaitFor("Flipt v2's 422 evaluations on /metrics", func() bool {
		total = 0
		for _, m := range series.FindAllStringSubmatch(e2etest.Get(t, "http://"+prom+"/metrics").Body, -1) {
			n, _ := strconv.Atoi(m[1])
			total += n
		}
		return total >= 422
	})
	if total != 422 {
		t.Fatalf("derived %d evaluations, Flipt v2 counted 422", total)
	}
}
