// Package e2e measures the built otelcol-flipt binary on its default
// pipeline under mixed Flipt traffic: acknowledged events per second,
// acknowledgement latency, loss and duplicates at the audit file, peak RSS
// and CPU per 1,000 events, and the rate achieved against the rate asked
// (a paced run below 95% of it fails); and TestGroupCommitGain compares
// the binary with that of the commit before audit_file's group commit.
// They run only when FLIPT_LOAD=1 (see BENCHMARKS.md for the commands and
// the recorded results; make bench-report runs them).
package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/otelcol-flipt/otelcol-flipt/bench/internal/loadresult"
	"github.com/otelcol-flipt/otelcol-flipt/internal/e2etest"
	"github.com/otelcol-flipt/otelcol-flipt/internal/loadgen"
)

func envOr(t *testing.T, name string, def float64) float64 {
	if v := os.Getenv(name); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return f
	}
	return def
}

// reachedShare is how close to the asked rate a run must come to count as
// having reached it: the pacer sends on schedule, so anything below is the
// collector (or the machine) not keeping up.
const reachedShare = 0.95

func TestLoadDefaultPipeline(t *testing.T) {
	if os.Getenv("FLIPT_LOAD") == "" {
		t.Skip("set FLIPT_LOAD=1 to run (see BENCHMARKS.md)")
	}
	rate := envOr(t, "FLIPT_LOAD_RATE", 5000)
	duration := time.Duration(envOr(t, "FLIPT_LOAD_SECONDS", 60) * float64(time.Second))
	scale := int(envOr(t, "FLIPT_LOAD_SCALE", 1))
	webhookConns := int(envOr(t, "FLIPT_LOAD_SENDERS", 16))

	dir := t.TempDir()
	col, webhook, otlpHTTP := startDefault(t, "", dir)

	pid := col.PID()
	cpu0, err := cpuSeconds(pid)
	if err != nil {
		t.Fatal(err)
	}
	sampler := sampleProc(pid)

	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	res := loadresult.Result{RateTarget: rate, DurationS: duration.Seconds(), Senders: webhookConns, Scale: scale}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		rep, err := loadgen.Run(context.Background(), loadgen.Config{
			Mode: loadgen.ModeWebhook, Target: "http://" + webhook + "/flipt/audit", Secret: "s3cr3t",
			Run: "w" + run, Rate: rate / 2, Duration: duration, Concurrency: webhookConns, Scale: scale,
			FliptRetry: true, MaxBackoff: 2 * time.Second,
		})
		if err != nil {
			t.Error(err)
		}
		res.Webhook = rep
	}()
	go func() {
		defer wg.Done()
		rep, err := loadgen.Run(context.Background(), loadgen.Config{
			Mode: loadgen.ModeOTLPHTTP, Target: "http://" + otlpHTTP, Run: "o" + run,
			Rate: rate / 2, Duration: duration, Concurrency: 2, Batch: 50, Scale: scale,
		})
		if err != nil {
			t.Error(err)
		}
		res.OTLP = rep
	}()
	wg.Wait()

	t.Logf("webhook: %d sent, %d acked, refused %v, %d transport errors; otlp: %d sent, %d acked, refused %v, %d transport errors",
		res.Webhook.Sent, res.Webhook.Acked, res.Webhook.Refused, res.Webhook.Errors,
		res.OTLP.Sent, res.OTLP.Acked, res.OTLP.Refused, res.OTLP.Errors)

	// Everything acknowledged must reach the audit file exactly once.
	col.WaitFor("acknowledged events in the audit file", func() bool {
		data := readAuditFiles(t, dir)
		res.WebhookTally = loadgen.Verify(data, "w"+run, res.Webhook.Sent)
		res.OTLPTally = loadgen.Verify(data, "o"+run, res.OTLP.Sent)
		return onlyUnacked(res.WebhookTally.Missing, res.Webhook.Unacked) && onlyUnacked(res.OTLPTally.Missing, res.OTLP.Unacked)
	})
	cpu1, _ := cpuSeconds(pid)
	res.PeakRSSMiB = float64(sampler.Stop()) / (1 << 20)
	res.Webhook.Unacked, res.OTLP.Unacked = nil, nil // counted in the report; too long to print
	res.CPUSeconds = cpu1 - cpu0
	if events := res.Webhook.Acked + res.OTLP.Acked; events > 0 {
		res.CPUMsPer1k = res.CPUSeconds * 1000 / float64(events) * 1000
	}
	res.RateAchieved = res.Webhook.EventsPerSec + res.OTLP.EventsPerSec
	res.TargetReached = rate == 0 || res.RateAchieved >= reachedShare*rate
	out, _ := json.MarshalIndent(res, "", "  ")
	t.Logf("result:\n%s", out)
	if p := os.Getenv("FLIPT_LOAD_REPORT"); p != "" {
		_ = os.WriteFile(p, out, 0o644)
	}
	if rate > 0 {
		t.Logf("rate: asked %.0f events/s, achieved %.0f (webhook %.0f, otlp %.0f)",
			rate, res.RateAchieved, res.Webhook.EventsPerSec, res.OTLP.EventsPerSec)
		if !res.TargetReached {
			t.Errorf("target not reached: asked %.0f events/s, achieved %.0f (%.0f%%)", rate, res.RateAchieved, 100*res.RateAchieved/rate)
		}
	}
	if res.Webhook.Acked != res.Webhook.Sent || res.OTLP.Acked != res.OTLP.Sent {
		t.Errorf("not every event was acknowledged: webhook %d/%d, otlp %d/%d",
			res.Webhook.Acked, res.Webhook.Sent, res.OTLP.Acked, res.OTLP.Sent)
	}
	if len(res.WebhookTally.Duplicates)+len(res.OTLPTally.Duplicates)+res.WebhookTally.Unexpected+res.OTLPTally.Unexpected > 0 {
		t.Errorf("audit file: webhook %s; otlp %s", res.WebhookTally, res.OTLPTally)
	}
}

// startDefault runs binary (this tree's when empty) on its default pipeline
// on loopback ports, writing its audit file in dir, and returns it healthy
// with the addresses of its webhook and OTLP/HTTP receivers.
func startDefault(t *testing.T, binary, dir string) (col *e2etest.Collector, webhook, otlpHTTP string) {
	health, webhook, otlpHTTP := e2etest.FreeAddr(t), e2etest.FreeAddr(t), e2etest.FreeAddr(t)
	col = e2etest.Start(t, e2etest.Options{Dir: dir, Binary: binary, Env: []string{
		"OTELCOL_FLIPT_HEALTH_ENDPOINT=" + health,
		"OTELCOL_FLIPT_PROMETHEUS_ENDPOINT=" + e2etest.FreeAddr(t),
		"OTELCOL_FLIPT_OTLP_GRPC_ENDPOINT=" + e2etest.FreeAddr(t),
		"OTELCOL_FLIPT_OTLP_HTTP_ENDPOINT=" + otlpHTTP,
		"OTELCOL_FLIPT_WEBHOOK_ENDPOINT=" + webhook,
		"OTELCOL_FLIPT_WEBHOOK_SECRET=s3cr3t",
		"OTELCOL_FLIPT_AUDIT_FILE=" + filepath.Join(dir, "flipt-audit.log"),
		"OTELCOL_FLIPT_TELEMETRY_HOST=127.0.0.1",
		"OTELCOL_FLIPT_TELEMETRY_PORT=" + strconv.Itoa(e2etest.FreePort(t)),
	}})
	col.WaitHealthy("http://" + health)
	return col, webhook, otlpHTTP
}

// readAuditFiles reads the audit file and the copies rotation made of it
// (audit_file rotates at 100 MB by default).
func readAuditFiles(t *testing.T, dir string) []byte {
	paths, err := filepath.Glob(filepath.Join(dir, "flipt-audit*.log"))
	if err != nil {
		t.Fatal(err)
	}
	var data []byte
	for _, p := range paths {
		data = append(data, e2etest.ReadFile(t, p)...)
	}
	return data
}

// onlyUnacked reports whether every missing event is one the collector
// never acknowledged (refused, or cut off); an acknowledged event missing
// from the file would be a loss.
func onlyUnacked(missing, unacked []int) bool {
	return ackedMissing(missing, unacked) == 0
}

// ackedMissing counts the missing events that were acknowledged: losses.
func ackedMissing(missing, unacked []int) int {
	refused := make(map[int]bool, len(unacked))
	for _, seq := range unacked {
		refused[seq] = true
	}
	n := 0
	for _, seq := range missing {
		if !refused[seq] {
			n++
		}
	}
	return n
}
