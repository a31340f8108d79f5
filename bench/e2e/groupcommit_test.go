package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/otelcol-flipt/otelcol-flipt/bench/internal/loadresult"
	"github.com/otelcol-flipt/otelcol-flipt/internal/e2etest"
	"github.com/otelcol-flipt/otelcol-flipt/internal/loadgen"
)

// TestGroupCommitGain runs the binary of the commit before audit_file's
// group commit (FLIPT_GROUP_COMMIT_BASE, built here from `git archive`) and
// this tree's in alternating pairs on the default pipeline: 64 signed
// single-event webhook senders flat out, then 16 paced to 1,000 events/s
// (the load the collector sustained before the group commit), each for
// FLIPT_LOAD_SECONDS. The senders do not retry: a refused event is counted,
// and the acknowledged ones per second are the figure. Every acknowledged
// event must be in the audit file once, for both binaries.
func TestGroupCommitGain(t *testing.T) {
	base := os.Getenv("FLIPT_GROUP_COMMIT_BASE")
	if os.Getenv("FLIPT_LOAD") == "" || base == "" {
		t.Skip("set FLIPT_LOAD=1 and FLIPT_GROUP_COMMIT_BASE=<commit> to run (see BENCHMARKS.md)")
	}
	pairs := int(envOr(t, "FLIPT_GROUP_COMMIT_PAIRS", 3))
	seconds := envOr(t, "FLIPT_LOAD_SECONDS", 8)
	before := buildAt(t, base)
	rec := loadresult.GroupCommit{Base: base, Seconds: seconds}
	d := time.Duration(seconds * float64(time.Second))
	for i := range pairs {
		var p loadresult.Pair
		sides := []struct {
			binary string
			side   *loadresult.Side
		}{{before, &p.Before}, {"", &p.After}}
		if i%2 == 1 { // each binary goes first in every other pair
			sides[0], sides[1] = sides[1], sides[0]
		}
		for _, s := range sides {
			s.side.Flat = webhookRun(t, s.binary, 64, 0, d)
			s.side.Paced = webhookRun(t, s.binary, 16, 1000, d)
		}
		rec.Pairs = append(rec.Pairs, p)
	}
	out, _ := json.MarshalIndent(rec, "", "  ")
	t.Logf("result:\n%s", out)
	if p := os.Getenv("FLIPT_LOAD_REPORT"); p != "" {
		_ = os.WriteFile(p, out, 0o644)
	}
	for i, p := range rec.Pairs {
		for _, r := range []loadresult.Run{p.Before.Flat, p.Before.Paced, p.After.Flat, p.After.Paced} {
			if r.Lost+r.Duplicated > 0 {
				t.Errorf("pair %d: %d acknowledged events lost, %d duplicated", i+1, r.Lost, r.Duplicated)
			}
		}
	}
}

// webhookRun starts binary (this tree's when empty) on its default
// pipeline, sends it signed single-event webhooks from senders at rate
// (0: flat out) for d, and checks the audit file.
func webhookRun(t *testing.T, binary string, senders int, rate float64, d time.Duration) loadresult.Run {
	t.Helper()
	dir := t.TempDir()
	col, webhook, _ := startDefault(t, binary, dir)
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	rep, err := loadgen.Run(context.Background(), loadgen.Config{
		Mode: loadgen.ModeWebhook, Target: "http://" + webhook + "/flipt/audit", Secret: "s3cr3t",
		Run: run, Rate: rate, Duration: d, Concurrency: senders, Timeout: 30 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	var tally loadgen.Tally
	col.WaitFor("acknowledged events in the audit file", func() bool {
		tally = loadgen.Verify(readAuditFiles(t, dir), run, rep.Sent)
		return onlyUnacked(tally.Missing, rep.Unacked)
	})
	col.Stop()
	return loadresult.Run{
		EventsPerSec: rep.EventsPerSec, P50ms: rep.Latency.P50, P99ms: rep.Latency.P99,
		Sent: rep.Sent, Acked: rep.Acked, Refused: rep.Refused,
		Lost: ackedMissing(tally.Missing, rep.Unacked), Duplicated: len(tally.Duplicates) + tally.Unexpected,
	}
}

// buildAt builds otelcol-flipt from the tree of rev in this repository,
// extracted with git archive (no worktree of the repository is touched).
func buildAt(t *testing.T, rev string) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	extract := exec.Command("bash", "-c", `set -o pipefail; git -C "$1" archive "$2" | tar -x -C "$3"`, "bash", e2etest.RepoRoot(), rev, src)
	if out, err := extract.CombinedOutput(); err != nil {
		t.Fatalf("git archive %s: %v\n%s", rev, err, out)
	}
	bin := filepath.Join(dir, "otelcol-flipt")
	build := exec.Command("go", "build", "-o", bin, "./cmd/otelcol-flipt")
	build.Dir = src
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build at %s: %v\n%s", rev, err, out)
	}
	return bin
}
