package main

import (
	"net/http"
	"testing"
	"time"

	"github.com/otelcol-flipt/otelcol-flipt/internal/e2etest"
	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
	"github.com/otelcol-flipt/otelcol-flipt/internal/loadgen"
)

// While the audit file cannot be written, the default pipeline refuses the
// trace exports that carry audit events (Flipt re-sends them), but the
// cache_metrics branch of the same fan-out has already seen them. Three
// refused rounds and one accepted round of the captured traces must count
// each cache lookup once, and the audit file must hold each event once.
func TestE2ERefusedExportsCountOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	env := newDefaultPipelineEnv(t)
	auditPath, unblock := relBlockedAuditPath(t)
	col := e2etest.Start(t, e2etest.Options{
		Env: append(env.vars(), "OTELCOL_FLIPT_AUDIT_FILE="+auditPath),
		// Refuse at once rather than hold each export through the retries.
		Args: []string{
			"--set=connectors.cache_metrics.flush_interval=500ms",
			"--set=exporters.audit_file.retry_on_failure.enabled=false",
		},
	})
	col.WaitHealthy("http://" + env.webhook + "/flipt/audit/health")

	bodies := fliptcapture.TraceBodies(t)
	refused := 0
	for range 3 {
		for _, body := range bodies {
			r := e2etest.Post(t, "http://"+env.http+"/v1/traces", "application/x-protobuf", body)
			if r.Status != http.StatusOK {
				refused++
			}
		}
	}
	// The exports that carry audit events: 0002, 0003, 0007 and 0008.
	if refused != 3*4 {
		t.Fatalf("want the 4 exports with audit events refused in each of 3 rounds, got %d refusals", refused)
	}
	// Where operators look: the collector's health endpoint and the
	// webhook's health path both stop saying ok.
	if r := e2etest.Get(t, "http://"+env.health); r.Status != http.StatusInternalServerError {
		t.Errorf("health while the audit file fails: want 500, got %d %s", r.Status, r.Body)
	}
	probe := loadgen.WebhookEvent("probe", 0, 1, time.Now())
	if r := e2etest.Post(t, "http://"+env.webhook+"/flipt/audit", "application/json", probe,
		loadgen.SignatureHeader, loadgen.Sign(fliptcapture.Secret, probe)); r.Status != http.StatusServiceUnavailable {
		t.Errorf("webhook event while the audit file fails: want 503, got %d %s", r.Status, r.Body)
	}
	if r := e2etest.Get(t, "http://"+env.webhook+"/flipt/audit/health"); r.Status != http.StatusServiceUnavailable {
		t.Errorf("webhook health after a refused hand-off: want 503, got %d %s", r.Status, r.Body)
	}
	unblock()
	for i, body := range bodies {
		if r := e2etest.Post(t, "http://"+env.http+"/v1/traces", "application/x-protobuf", body); r.Status != http.StatusOK {
			t.Fatalf("trace body %d after the file came back: %d %s", i+1, r.Status, r.Body)
		}
	}
	col.WaitHealthy("http://" + env.health)
	if got, want := e2etest.ReadFile(t, auditPath), string(fliptcapture.AuditLog(t)); got != want {
		t.Fatalf("audit file is not Flipt's audit.log once (%d bytes, want %d)", len(got), len(want))
	}
	// One pass of the captures: 35 evaluation hits, 7 misses, 2 flag hits.
	// Lookups are decided after inference's wait, so wait until every
	// counter reached its one-pass value, then check none went past it.
	want := map[string]int{
		`flipt_cache_hit_total{.*cache="memory".*type="evaluation".*}`:  35,
		`flipt_cache_miss_total{.*cache="memory".*type="evaluation".*}`: 7,
		`flipt_cache_hit_total{.*cache="memory".*type="flag".*}`:        2,
	}
	var body string
	col.WaitFor("every cache counter of one pass on /metrics", func() bool {
		body = e2etest.Get(t, "http://"+env.prom+"/metrics").Body
		for series, n := range want {
			if relMetricValue(body, series) < n {
				return false
			}
		}
		return true
	})
	for series, n := range want {
		if got := relMetricValue(body, series); got != n {
			t.Errorf("%s = %d, want %d (one pass)", series, got, n)
		}
	}
}
