package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/otelcol-flipt/otelcol-flipt/exporter/auditfile"
	"github.com/otelcol-flipt/otelcol-flipt/internal/e2etest"
	"github.com/otelcol-flipt/otelcol-flipt/internal/loadgen"
)

// relCrashConfig is webhook -> audit_file with fsync every batch and the hash
// chain, optionally behind a persistent sending queue kept by file_storage.
func relCrashConfig(queue bool) string {
	c := `
receivers:
  flipt_audit:
    webhook:
      endpoint: ${env:WEBHOOK}
      signing_secret: ${env:SECRET}
exporters:
  audit_file:
    path: ${env:AUDIT_FILE}
    fsync: every_batch
    hash_chain: true
`
	if queue {
		// The README's durable setup: the queue on disk, fsynced, never
		// giving up on a batch, one consumer (the exporter's default).
		c = `
extensions:
  file_storage:
    directory: ${env:QUEUE_DIR}
    fsync: true
` + c + `    retry_on_failure:
      max_elapsed_time: 0s
    sending_queue:
      enabled: true
      storage: file_storage
      queue_size: 100000
      num_consumers: ` + fmt.Sprint(crashQueueConsumers) + `
`
	}
	c += `
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [flipt_audit]
      exporters: [audit_file]
`
	if queue {
		c += "  extensions: [file_storage]\n"
	}
	return c
}

const (
	crashEvents         = 2000
	crashRate           = 400 // events/s: the sender is still sending at every kill
	crashSenders        = 4   // parallel Flipt-like senders (Flipt itself is serial)
	crashKills          = 3
	crashQueueConsumers = 1
	// tornFragment is what a crash in the middle of writing a line leaves.
	tornFragment = `{"version":"0.2","type":"flag","action":"crea`
)

// TestReliabilityCrash SIGKILLs the collector three times while a
// Flipt-like sender (go-retryablehttp, 5 attempts, connection errors
// retried) delivers signed webhook events, restarting it on the same ports
// and directories each time. Every acknowledged event must be in the audit
// file; duplicates are counted and bounded by what can be in flight at a
// kill; the file holds only whole lines except a torn tail, which the next
// start ends with a newline; the hash chain still verifies.
func TestReliabilityCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and kills it repeatedly")
	}
	t.Run("persistent_queue", func(t *testing.T) { relRunCrash(t, true, syscall.SIGKILL) })
	t.Run("no_queue", func(t *testing.T) { relRunCrash(t, false, syscall.SIGKILL) })
	// A graceful stop (SIGTERM) answers every request it accepted before
	// exiting: exactly once, no duplicate.
	t.Run("no_queue_sigterm", func(t *testing.T) { relRunCrash(t, false, syscall.SIGTERM) })
	t.Run("queue_backlog", relTestCrashQueueBacklog)
}

// relTestCrashQueueBacklog proves what a 200 means with the persistent queue:
// the file cannot be written (its directory is a regular file), so every
// acknowledged event is only in the queue; the collector is SIGKILLed, the
// cause removed, and the restarted collector writes them all.
func relTestCrashQueueBacklog(t *testing.T) {
	const events = 200
	dir := t.TempDir()
	blocker := filepath.Join(dir, "audit")
	if err := os.WriteFile(blocker, []byte("not a directory\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	auditPath := filepath.Join(blocker, "flipt-audit.log")
	queueDir := filepath.Join(dir, "queue")
	if err := os.MkdirAll(queueDir, 0o700); err != nil {
		t.Fatal(err)
	}
	webhook := e2etest.FreeAddr(t)
	url := "http://" + webhook + "/flipt/audit"
	rc := newRelCollector(t, relCrashConfig(true), url+"/health",
		"WEBHOOK="+webhook, "SECRET="+relSecret, "AUDIT_FILE="+auditPath, "QUEUE_DIR="+queueDir)
	col := rc.start()
	run := fmt.Sprintf("backlog-%d", time.Now().UnixNano())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := loadgen.Run(ctx, loadgen.Config{
		Mode: loadgen.ModeWebhook, Target: url, Secret: relSecret, Run: run,
		Count: events, Concurrency: 1, FliptRetry: true, MaxBackoff: 4 * time.Second, Timeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Acked != events {
		t.Fatalf("with a persistent queue, events are acknowledged while the file is unwritable: acked %d of %d, refused %v",
			rep.Acked, events, rep.Refused)
	}
	if !strings.Contains(col.Output(), "not a directory") {
		t.Errorf("the write error is not logged:\n%s", col.Output())
	}
	col.Signal(syscall.SIGKILL)
	if err := col.Wait(10 * time.Second); !col.Exited() {
		t.Fatalf("collector did not die: %v", err)
	}
	if err := os.Remove(blocker); err != nil {
		t.Fatal(err)
	}
	col = rc.start()
	data := relWaitFile(t, auditPath, "the queued events", 60*time.Second, func(b []byte) bool {
		return len(loadgen.Verify(b, run, events).Missing) == 0
	})
	col.Stop()
	tally := loadgen.Verify(data, run, events)
	t.Logf("RESULT crash queue backlog: acked %d/%d while unwritable, after SIGKILL+restart: %s", rep.Acked, events, tally)
	if n := len(tally.Duplicates); n > crashQueueConsumers {
		t.Errorf("%d duplicates, more than the %d queue consumers in flight at the kill", n, crashQueueConsumers)
	}
}

func relRunCrash(t *testing.T, queue bool, sig syscall.Signal) {
	dir := t.TempDir()
	auditPath := filepath.Join(dir, "audit", "flipt-audit.log")
	queueDir := filepath.Join(dir, "queue")
	if err := os.MkdirAll(queueDir, 0o700); err != nil {
		t.Fatal(err)
	}
	webhook := e2etest.FreeAddr(t)
	url := "http://" + webhook + "/flipt/audit"
	rc := newRelCollector(t, relCrashConfig(queue), url+"/health",
		"WEBHOOK="+webhook, "SECRET="+relSecret, "AUDIT_FILE="+auditPath, "QUEUE_DIR="+queueDir)
	col := rc.start()

	run := fmt.Sprintf("crash-q%v-%d", queue, time.Now().UnixNano())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	type result struct {
		rep loadgen.Report
		err error
	}
	done := make(chan result, 1)
	go func() {
		rep, err := loadgen.Run(ctx, loadgen.Config{
			Mode: loadgen.ModeWebhook, Target: url, Secret: relSecret, Run: run,
			Count: crashEvents, Rate: crashRate, Concurrency: crashSenders,
			// Flipt's client: 5 attempts, waits 1, 2, 4, 4 s (max_backoff 4s):
			// 11 s of retries cover each restart.
			FliptRetry: true, MaxBackoff: 4 * time.Second, Timeout: 10 * time.Second,
		})
		done <- result{rep, err}
	}()

	marker := []byte(`"lg-` + run + `-`)
	var tornAtKill, injected int
	for k := 1; k <= crashKills; k++ {
		// Kill at a progress point of the file, or 1.5 s after the (re)start
		// if the file lags behind (with the queue on a loaded machine), so
		// that every kill hits the sender while it is still sending.
		want := k * crashEvents / (crashKills + 1)
		for until := time.Now().Add(1500 * time.Millisecond); time.Now().Before(until); time.Sleep(20 * time.Millisecond) {
			if data, _ := os.ReadFile(auditPath); bytes.Count(data, marker) >= want {
				break
			}
		}
		col.Signal(sig)
		if err := col.Wait(20 * time.Second); !col.Exited() {
			t.Fatalf("kill %d: collector did not stop: %v", k, err)
		}
		data, _ := os.ReadFile(auditPath)
		if len(data) > 0 && data[len(data)-1] != '\n' {
			tornAtKill++
		}
		// Once, leave the torn tail a crash in the middle of a write leaves
		// (SIGKILL between write syscalls of whole batches rarely does): the
		// chain announces the write ("+<bytes>") before the write starts, so
		// the crash leaves that intent and part of the batch.
		if k == 2 {
			chainPath := auditfile.ChainPath(auditPath)
			cb, err := os.ReadFile(chainPath)
			if err != nil {
				t.Fatal(err)
			}
			cb = fmt.Appendf(cb[:bytes.LastIndexByte(cb, '\n')+1], "+%d\n", len(tornFragment))
			if err := os.WriteFile(chainPath, cb, 0o600); err != nil {
				t.Fatal(err)
			}
			f, err := os.OpenFile(auditPath, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.WriteString(tornFragment); err != nil {
				t.Fatal(err)
			}
			f.Close()
			injected++
		}
		col = rc.start()
		if k == 2 {
			col.WaitLog("ended in a partial line")
		}
	}

	var res result
	select {
	case res = <-done:
	case <-ctx.Done():
		t.Fatal("the sender did not finish")
	}
	if res.err != nil {
		t.Fatal(res.err)
	}
	rep := res.rep
	t.Logf("sender: sent %d, acked %d, refused %v, transport errors %d, retries %d, p99 %.0f ms, max %.0f ms",
		rep.Sent, rep.Acked, rep.Refused, rep.Errors, rep.Retries, rep.Latency.P99, rep.Latency.Max)
	if rep.Acked != crashEvents {
		t.Errorf("only %d of %d events acknowledged: Flipt's 5 attempts did not cover a restart (refused %v, errors %d)",
			rep.Acked, crashEvents, rep.Refused, rep.Errors)
	}

	// With the queue, a 200 means persisted in the queue: wait until it has
	// drained into the file, then stop cleanly.
	relWaitFile(t, auditPath, "every acknowledged event", 60*time.Second, func(b []byte) bool {
		return len(loadgen.Verify(b, run, crashEvents).Missing) <= crashEvents-rep.Acked
	})
	col.Stop()
	if !strings.Contains(col.Output(), "Shutdown complete") {
		t.Errorf("no clean shutdown after the last restart:\n%s", col.Output())
	}

	data := e2etest.ReadFile(t, auditPath)
	tally := loadgen.Verify([]byte(data), run, crashEvents)
	t.Logf("audit file: %s; kills %d, torn tails at kill %d, injected %d", tally, crashKills, tornAtKill, injected)
	if len(tally.Missing) > crashEvents-rep.Acked {
		t.Errorf("acknowledged events missing from the audit file: %d (first %v)", len(tally.Missing), relHead(tally.Missing))
	}
	if tally.Unexpected != 0 {
		t.Errorf("%d unexpected keys", tally.Unexpected)
	}
	// At-least-once: a duplicate needs something in flight at a kill: a
	// request whose 200 was lost (at most one per sender), or, with the
	// queue, a batch written but not yet marked done (at most one per queue
	// consumer).
	perKill := crashSenders
	if queue {
		perKill += crashQueueConsumers
	}
	if sig != syscall.SIGKILL {
		perKill = 0
	}
	if n := len(tally.Duplicates); n > crashKills*perKill {
		t.Errorf("%d duplicated events, more than %d kills x %d in flight", n, crashKills, perKill)
	}
	t.Logf("RESULT crash %v queue=%v: acked %d/%d, missing %d, duplicated %d (bound %d), retries %d, torn tails repaired %d",
		sig, queue, rep.Acked, crashEvents, len(tally.Missing), len(tally.Duplicates), crashKills*perKill, rep.Retries, tornAtKill+injected)

	// Whole lines only, except torn tails that a restart ended with a
	// newline: the injected fragment stands alone on its line.
	lines, whole := relFileLines([]byte(data))
	if !whole {
		t.Error("the audit file does not end with a newline after a clean stop")
	}
	bad := relInvalidLines(lines)
	if len(bad) > tornAtKill+injected {
		t.Errorf("%d lines are not JSON objects, only %d torn tails were left by kills: %q", len(bad), tornAtKill+injected, bad)
	}
	// The hash chain survived the kills: lines written just before a kill
	// and the repaired torn tail were chained at the next start, nothing
	// was rotated aside as broken.
	if err := auditfile.VerifyChain(auditPath, auditfile.ChainPath(auditPath)); err != nil {
		t.Errorf("hash chain after %d kills: %v", crashKills, err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(auditPath)); len(entries) != 3 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("want only the audit file, its chain and its lock file, found %v", names)
	}
	found := false
	for _, l := range bad {
		if string(l) == tornFragment {
			found = true
		}
	}
	if !found {
		t.Errorf("the injected torn tail is not kept alone on its own line: %q", bad)
	}
}

func relHead(s []int) []int {
	if len(s) > 10 {
		return s[:10]
	}
	return s
}
