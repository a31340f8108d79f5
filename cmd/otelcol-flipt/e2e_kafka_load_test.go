package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-flipt/otelcol-flipt/internal/e2etest"
	"github.com/otelcol-flipt/otelcol-flipt/internal/loadgen"
)

const (
	handoffEvents  = 3000
	handoffSenders = 4
	handoffSecret  = "s3cr3t"
)

// directConfig is the one-collector path the hand-off is measured beside:
// the same webhook into the same audit_file.
const directConfig = `
extensions:
  health_check:
    endpoint: %[1]s
receivers:
  flipt_audit:
    webhook:
      endpoint: %[2]s
      signing_secret: ` + handoffSecret + `
exporters:
  audit_file:
    path: %[3]s
service:
  extensions: [health_check]
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [flipt_audit]
      exporters: [audit_file]
`

func sendLoad(ctx context.Context, webhook, run string) (loadgen.Report, error) {
	return loadgen.Run(ctx, loadgen.Config{
		Mode: loadgen.ModeWebhook, Target: "http://" + webhook + "/flipt/audit", Secret: handoffSecret, Run: run,
		Count: handoffEvents, Concurrency: handoffSenders, Timeout: 30 * time.Second,
	})
}

func tally(path, run string) loadgen.Tally {
	data, _ := os.ReadFile(path)
	return loadgen.Verify(data, run, handoffEvents)
}

// Under load, the hand-off of examples/audit-handoff-*.yaml loses nothing
// when the central collector is SIGKILLed mid-run and restarted: every
// event the edge acknowledged is in the file; second copies are counted.
// Beside it, the same load through one collector (webhook → audit_file)
// gives the figure the hand-off costs.
func TestE2EKafkaHandoffUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	ctx := context.Background()

	// One collector, the same webhook and file.
	dir := t.TempDir()
	direct := struct{ health, webhook, path string }{e2etest.FreeAddr(t), e2etest.FreeAddr(t), filepath.Join(dir, "direct.log")}
	col := e2etest.StartConfig(t, fmt.Sprintf(directConfig, direct.health, direct.webhook, direct.path))
	col.WaitHealthy("http://" + direct.health)
	directRep, err := sendLoad(ctx, direct.webhook, "direct")
	require.NoError(t, err)
	require.Equal(t, handoffEvents, directRep.Acked)
	col.WaitFor("every direct event", func() bool { return tally(direct.path, "direct").Found >= handoffEvents })
	assert.True(t, tally(direct.path, "direct").OK(), tally(direct.path, "direct").String())
	col.Stop()

	// Through Kafka, with the central collector killed mid-run.
	cluster, _ := startKafka(t, "flipt-audit-handoff")
	brokers := "OTELCOL_FLIPT_KAFKA_BROKERS=" + cluster.ListenAddrs()[0]
	webhook := e2etest.FreeAddr(t)
	edge := newExampleCollector(t, "audit-handoff-edge.yaml", brokers,
		"OTELCOL_FLIPT_WEBHOOK_ENDPOINT="+webhook, "OTELCOL_FLIPT_WEBHOOK_SECRET="+handoffSecret)
	central := newExampleCollector(t, "audit-handoff-central.yaml", brokers)
	path := filepath.Join(central.dir, "flipt-audit.log")
	central.env = append(central.env, "OTELCOL_FLIPT_AUDIT_FILE="+path)
	edge.start(t)
	cent := central.start(t)

	type result struct {
		rep loadgen.Report
		err error
	}
	done := make(chan result, 1)
	go func() {
		rep, err := sendLoad(ctx, webhook, "handoff")
		done <- result{rep, err}
	}()
	cent.WaitFor("a sixth of the events in the file", func() bool { return tally(path, "handoff").Found >= handoffEvents/6 })
	cent.Signal(syscall.SIGKILL)
	require.Error(t, cent.Wait(30*time.Second), "killed")
	killedAt := tally(path, "handoff").Found
	cent = central.start(t)
	res := <-done
	require.NoError(t, res.err)
	require.Equal(t, handoffEvents, res.rep.Acked, "the edge acknowledged every event while Kafka was up: %v", res.rep.Refused)
	cent.WaitFor("every acknowledged event", func() bool { return len(tally(path, "handoff").Missing) == 0 })
	stopAuditFileCollector(t, cent)
	got := tally(path, "handoff")
	assert.Empty(t, got.Missing)
	assert.Zero(t, got.Unexpected)
	t.Logf("direct webhook → audit_file: %.0f events/s acknowledged; through Kafka: %.0f events/s (%d senders, %d events)",
		directRep.EventsPerSec, res.rep.EventsPerSec, handoffSenders, handoffEvents)
	t.Logf("central SIGKILLed with %d events in the file: %d of %d acknowledged events in the file, %d written twice",
		killedAt, handoffEvents-len(got.Missing), handoffEvents, len(got.Duplicates))
}
