package auditfile

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/otelcol-flipt/otelcol-flipt/exporter/auditfile/internal/metadatatest"
	"github.com/otelcol-flipt/otelcol-flipt/internal/auditevent"
	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
)

const crashEnv = "AUDITFILE_CRASH_HELPER_PATH"

// crashBatch is batch k of the crash test: 5 audit.log lines from a place
// that depends on k, so batches differ.
func crashBatch(lines [][]byte, k int) [][]byte {
	out := make([][]byte, 5)
	for i := range out {
		out[i] = lines[(k*7+i)%len(lines)]
	}
	return out
}

// TestCrashHelper is the child of TestCrashLeavesOnlyWholeAcknowledgedLines:
// it writes batches with fsync every_batch and prints each acknowledged one.
func TestCrashHelper(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("helper process of TestCrashLeavesOnlyWholeAcknowledgedLines")
	}
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.Path = path
	cfg.HashChain = true
	cfg.BackOffConfig.Enabled = false
	exp, _ := started(t, cfg)
	lines := fliptcapture.Lines(t, "audit.log")
	for k := 0; ; k++ {
		if err := exp.ConsumeLogs(context.Background(), logsOf(t, auditevent.SourceFile, crashBatch(lines, k)...)); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println("ack", k)
	}
}

func TestCrashLeavesOnlyWholeAcknowledgedLines(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a child process")
	}
	lines := fliptcapture.Lines(t, "audit.log")
	path := testConfig(t).Path
	var want []byte // every acknowledged batch so far, over all rounds
	for round := range 3 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashEnv+"="+path)
		out, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		sc := bufio.NewScanner(out)
		acked := -1
		for sc.Scan() && acked < 40+round*10 {
			f := strings.Fields(sc.Text())
			if len(f) == 2 && f[0] == "ack" {
				acked, _ = strconv.Atoi(f[1])
			}
		}
		require.NoError(t, cmd.Process.Kill()) // SIGKILL, mid-stream
		_ = cmd.Wait()
		require.GreaterOrEqual(t, acked, 40, "child acknowledged too little")

		for k := 0; k <= acked; k++ {
			for _, l := range crashBatch(lines, k) {
				want = append(append(want, l...), '\n')
			}
		}
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		require.True(t, bytes.HasPrefix(data, want), "round %d: acknowledged lines missing or changed", round)
		// What follows is unacknowledged: whole lines of later batches,
		// possibly ending in a torn fragment of one.
		rest := data[len(want):]
		var next []byte
		for k := acked + 1; len(next) < len(rest); k++ {
			for _, l := range crashBatch(lines, k) {
				next = append(append(next, l...), '\n')
			}
		}
		require.True(t, bytes.HasPrefix(next, rest), "round %d: unexpected bytes after the acknowledged lines", round)
		torn := len(rest) > 0 && rest[len(rest)-1] != '\n'

		// The next start repairs a torn tail and keeps everything.
		cfg := testConfig(t)
		cfg.Path, cfg.HashChain = path, true
		exp, tt := started(t, cfg)
		require.NoError(t, exp.Shutdown(context.Background()))
		repaired := append([]byte(nil), data...)
		if torn {
			repaired = append(repaired, '\n')
			metadatatest.AssertEqualAuditFileTornTailsRepaired(t, tt, []metricdata.DataPoint[int64]{{Value: 1}},
				metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
		}
		assert.Equal(t, string(repaired), readFile(t, path))
		require.NoError(t, VerifyChain(path, ChainPath(path)), "the chain covers every line after the restart")
		want = repaired // later rounds append after it
	}
}

// A file left ending in a partial line is repaired at start and counted.
func TestTornTailRepairedAtStart(t *testing.T) {
	cfg := testConfig(t)
	log := fliptcapture.AuditLog(t)
	torn := append(append([]byte(nil), log...), log[:40]...)
	require.NoError(t, os.MkdirAll(filepath.Dir(cfg.Path), 0o700))
	require.NoError(t, os.WriteFile(cfg.Path, torn, 0o600))
	exp, tt := started(t, cfg)
	consume(t, exp, auditLogBatch(t))
	require.NoError(t, exp.Shutdown(context.Background()))
	assert.Equal(t, string(torn)+"\n"+string(log), readFile(t, cfg.Path))
	metadatatest.AssertEqualAuditFileTornTailsRepaired(t, tt, []metricdata.DataPoint[int64]{{Value: 1}},
		metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
}
