package auditfile

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
)

// Each input path, written in each format, gives Flipt's own bytes.
func TestRoundTripAllInputsAllFormats(t *testing.T) {
	webhook, bodies := webhookBatches(t)
	require.Len(t, bodies, 53)
	var webhookFile []byte
	for _, b := range bodies {
		webhookFile = append(append(webhookFile, b...), '\n')
	}
	want := map[string][]byte{
		"json":    fliptcapture.AuditLog(t),
		"console": fliptcapture.ConsoleLog(t),
		"webhook": webhookFile,
	}
	inputs := map[string]func(testing.TB) []plog.Logs{
		"webhook":     func(testing.TB) []plog.Logs { return webhook },
		"file":        func(t testing.TB) []plog.Logs { return []plog.Logs{auditLogBatch(t)} },
		"span_events": traceBatches,
	}
	for inName, input := range inputs {
		for format, wantFile := range want {
			t.Run(inName+"/"+format, func(t *testing.T) {
				cfg := testConfig(t)
				cfg.Format = format
				exp, _ := started(t, cfg)
				consume(t, exp, input(t)...)
				require.NoError(t, exp.Shutdown(context.Background()))
				got := []byte(readFile(t, cfg.Path))
				if !bytes.Equal(got, wantFile) {
					gl, wl := bytes.Split(got, []byte{'\n'}), bytes.Split(wantFile, []byte{'\n'})
					for i := range min(len(gl), len(wl)) {
						if !bytes.Equal(gl[i], wl[i]) {
							t.Fatalf("line %d:\n got %s\nwant %s", i+1, gl[i], wl[i])
						}
					}
					t.Fatalf("%d lines, want %d", len(gl), len(wl))
				}
			})
		}
	}
}

// Every fsync policy, buffered or not, ends with the whole trail on shutdown.
func TestEveryFsyncPolicyWritesEverything(t *testing.T) {
	webhook, _ := webhookBatches(t)
	for _, tc := range []struct {
		fsync string
		flush time.Duration
	}{{"every_batch", time.Second}, {"on_flush", time.Hour}, {"never", time.Hour}, {"never", 0}} {
		t.Run(fmt.Sprintf("%s/%s", tc.fsync, tc.flush), func(t *testing.T) {
			cfg := testConfig(t)
			cfg.Fsync, cfg.FlushInterval = tc.fsync, tc.flush
			exp, _ := started(t, cfg)
			consume(t, exp, webhook...)
			require.NoError(t, exp.Shutdown(context.Background()))
			require.Equal(t, string(fliptcapture.AuditLog(t)), readFile(t, cfg.Path))
		})
	}
}
