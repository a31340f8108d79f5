package auditfile

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/otelcol-flipt/otelcol-flipt/exporter/auditfile/internal/metadatatest"
	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
)

func foreignLogs() plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "other")
	lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetTimestamp(pcommon.Timestamp(1_700_000_000_123_456_789))
	lr.SetSeverityNumber(plog.SeverityNumberError)
	lr.Body().SetStr("disk <almost> full\nreally")
	lr.Attributes().PutInt("n", 3)
	lr.SetTraceID(pcommon.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	return ld
}

func TestOtherRecordsWrittenAsOneJSONLine(t *testing.T) {
	cfg := testConfig(t)
	exp, tt := started(t, cfg)
	consume(t, exp, foreignLogs(), auditLogBatch(t))
	require.NoError(t, exp.Shutdown(context.Background()))

	got := readFile(t, cfg.Path)
	first, rest, _ := strings.Cut(got, "\n")
	assert.Equal(t, string(fliptcapture.AuditLog(t)), rest, "audit events after the foreign record")
	var obj map[string]any
	require.NoError(t, json.Unmarshal([]byte(first), &obj), first)
	assert.Equal(t, map[string]any{
		"time": "2023-11-14T22:13:20.123456789Z", "severity": "Error", "body": "disk <almost> full\nreally",
		"attributes": map[string]any{"n": 3.0}, "resource": map[string]any{"service.name": "other"},
		"trace_id": "0102030405060708090a0b0c0d0e0f10",
	}, obj)
	metadatatest.AssertEqualAuditFileRecordsWritten(t, tt, []metricdata.DataPoint[int64]{{Value: 54}}, metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
	metadatatest.AssertEqualAuditFileBytesWritten(t, tt, []metricdata.DataPoint[int64]{{Value: int64(len(got))}}, metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
}

func TestOtherRecordsSkippedAndCounted(t *testing.T) {
	cfg := testConfig(t)
	cfg.OtherRecords = "skip"
	exp, tt := started(t, cfg)
	consume(t, exp, foreignLogs(), foreignLogs(), auditLogBatch(t))
	require.NoError(t, exp.Shutdown(context.Background()))
	assert.Equal(t, string(fliptcapture.AuditLog(t)), readFile(t, cfg.Path))
	metadatatest.AssertEqualAuditFileRecordsSkipped(t, tt, []metricdata.DataPoint[int64]{{Value: 2}}, metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
	metadatatest.AssertEqualAuditFileRecordsWritten(t, tt, []metricdata.DataPoint[int64]{{Value: 53}}, metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
}

func TestPermissions(t *testing.T) {
	cfg := testConfig(t)
	exp, _ := started(t, cfg)
	consume(t, exp, auditLogBatch(t))
	fi, err := os.Stat(cfg.Path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	di, err := os.Stat(filepath.Dir(cfg.Path))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), di.Mode().Perm())

	// A configured mode is given to a file the exporter creates; an
	// existing file keeps its own (the exporter never chmods what it did
	// not create).
	require.NoError(t, exp.Shutdown(context.Background()))
	cfg.FilePermissions = "0640"
	exp, _ = started(t, cfg)
	consume(t, exp, auditLogBatch(t))
	fi, err = os.Stat(cfg.Path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "existing file left as it was")
	require.NoError(t, exp.Shutdown(context.Background()))
	require.NoError(t, os.Remove(cfg.Path))
	exp, _ = started(t, cfg)
	consume(t, exp, auditLogBatch(t))
	require.NoError(t, exp.Shutdown(context.Background()))
	fi, err = os.Stat(cfg.Path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o640), fi.Mode().Perm(), "created with the configured mode")
}

// An audit trail is never truncated: a restart appends.
func TestAppendAcrossRestart(t *testing.T) {
	cfg := testConfig(t)
	for range 3 {
		exp, _ := started(t, cfg)
		consume(t, exp, auditLogBatch(t))
		require.NoError(t, exp.Shutdown(context.Background()))
	}
	log := string(fliptcapture.AuditLog(t))
	assert.Equal(t, log+log+log, readFile(t, cfg.Path))
}

// A path that cannot be written gives a retryable error naming it, and the
// exporter recovers by itself once the cause is gone.
func TestUnwritablePathRecovers(t *testing.T) {
	for _, tc := range []struct {
		name  string
		block func(t *testing.T, path string) (fix func())
	}{
		{"parent is a regular file", func(t *testing.T, path string) func() {
			dir := filepath.Dir(path)
			require.NoError(t, os.WriteFile(dir, []byte("x"), 0o600))
			return func() { require.NoError(t, os.Remove(dir)) }
		}},
		{"path is a directory", func(t *testing.T, path string) func() {
			require.NoError(t, os.MkdirAll(path, 0o700))
			return func() { require.NoError(t, os.Remove(path)) }
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t)
			fix := tc.block(t, cfg.Path)
			exp, tt := started(t, cfg) // starts anyway, so other pipelines keep running
			abs, _ := filepath.Abs(cfg.Path)
			for range 2 {
				err := exp.ConsumeLogs(context.Background(), auditLogBatch(t))
				require.Error(t, err)
				assert.False(t, consumererror.IsPermanent(err), "must be retryable: %v", err)
				assert.Contains(t, err.Error(), abs)
			}
			fix()
			consume(t, exp, auditLogBatch(t))
			require.NoError(t, exp.Shutdown(context.Background()))
			assert.Equal(t, string(fliptcapture.AuditLog(t)), readFile(t, cfg.Path), "the file holds the batch once")
			// One failed open at start, then one per failed batch.
			metadatatest.AssertEqualAuditFileWriteErrors(t, tt, []metricdata.DataPoint[int64]{{Value: 3}}, metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
		})
	}
}

// Writing on into a file deleted or moved away would lose the lines: the
// exporter notices and writes to a new file at the path, recreating the
// directory, or fails retryably until it can.
func TestPathGoneWhileRunning(t *testing.T) {
	cfg := testConfig(t)
	exp, _ := started(t, cfg)
	log := string(fliptcapture.AuditLog(t))
	consume(t, exp, auditLogBatch(t))

	moved := cfg.Path + ".moved"
	require.NoError(t, os.Rename(cfg.Path, moved))
	consume(t, exp, auditLogBatch(t))
	assert.Equal(t, log, readFile(t, moved))
	assert.Equal(t, log, readFile(t, cfg.Path))

	dir := filepath.Dir(cfg.Path)
	require.NoError(t, os.RemoveAll(dir))
	consume(t, exp, auditLogBatch(t))
	assert.Equal(t, log, readFile(t, cfg.Path), "directory and file recreated")

	require.NoError(t, os.RemoveAll(dir))
	require.NoError(t, os.WriteFile(dir, nil, 0o600)) // now it cannot be recreated
	err := exp.ConsumeLogs(context.Background(), auditLogBatch(t))
	require.Error(t, err)
	assert.False(t, consumererror.IsPermanent(err))
	require.NoError(t, os.Remove(dir))
	consume(t, exp, auditLogBatch(t))
	require.NoError(t, exp.Shutdown(context.Background()))
	assert.Equal(t, log, readFile(t, cfg.Path))
}

func TestConcurrentConsumeKeepsLinesWhole(t *testing.T) {
	cfg := testConfig(t)
	cfg.Fsync = "never"
	cfg.Rotation.MaxMegabytes = 1
	exp, _ := started(t, cfg)
	lines := fliptcapture.Lines(t, "audit.log")
	const workers, rounds = 8, 20
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for r := range rounds {
				ld := logsOf(t, "file", lines[(w*rounds+r)%len(lines)])
				assert.NoError(t, exp.ConsumeLogs(context.Background(), ld))
			}
		})
	}
	wg.Wait()
	require.NoError(t, exp.Shutdown(context.Background()))
	want := map[string]int{}
	for i := range workers * rounds {
		want[string(lines[i%len(lines)])]++
	}
	got := map[string]int{}
	for _, p := range allFiles(t, cfg.Path) {
		data := readFile(t, p)
		require.True(t, strings.HasSuffix(data, "\n"))
		for l := range strings.SplitSeq(strings.TrimSuffix(data, "\n"), "\n") {
			got[l]++
		}
	}
	assert.Equal(t, want, got)
}

// allFiles is the active file and its backups.
func allFiles(t *testing.T, path string) []string {
	matches, err := filepath.Glob(strings.TrimSuffix(path, ".log") + "-*.log")
	require.NoError(t, err)
	return append(matches, path)
}

func TestHashChainVerifies(t *testing.T) {
	cfg := testConfig(t)
	cfg.HashChain = true
	exp, _ := started(t, cfg)
	consume(t, exp, traceBatches(t)...)
	require.NoError(t, exp.Shutdown(context.Background()))
	assert.Equal(t, string(fliptcapture.AuditLog(t)), readFile(t, cfg.Path), "the log stays Flipt's bytes")
	require.NoError(t, VerifyChain(cfg.Path, ChainPath(cfg.Path)))

	// Changing one character of one line is detected, and named.
	data := []byte(readFile(t, cfg.Path))
	i := bytes.Index(data, []byte(`"action":"deleted"`))
	require.Positive(t, i)
	copy(data[i:], `"action":"created"`)
	require.NoError(t, os.WriteFile(cfg.Path, data, 0o600))
	err := VerifyChain(cfg.Path, ChainPath(cfg.Path))
	require.Error(t, err)
	line := bytes.Count(data[:i], []byte{'\n'}) + 1
	assert.Contains(t, err.Error(), fmt.Sprintf("line %d ", line))
}

func TestRotationThroughTheExporter(t *testing.T) {
	cfg := testConfig(t)
	cfg.Rotation.MaxMegabytes = 1
	cfg.Rotation.MaxBackups = 2
	cfg.Rotation.Compress = true
	exp, tt := started(t, cfg)
	batch := auditLogBatch(t)
	log := fliptcapture.AuditLog(t)
	const n = 200 // 3.4 MB: 3 rotations
	for range n {
		consume(t, exp, batch)
	}
	require.NoError(t, exp.Shutdown(context.Background()))
	metadatatest.AssertEqualAuditFileRotations(t, tt, []metricdata.DataPoint[int64]{{Value: 3}},
		metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())

	backups, err := filepath.Glob(strings.TrimSuffix(cfg.Path, ".log") + "-*")
	require.NoError(t, err)
	require.Len(t, backups, 2, "max_backups")
	perFile := (1 << 20) / len(log)
	for _, b := range backups {
		require.True(t, strings.HasSuffix(b, ".log.gz"), b)
		f, err := os.Open(b)
		require.NoError(t, err)
		zr, err := gzip.NewReader(f)
		require.NoError(t, err)
		data, err := io.ReadAll(zr)
		f.Close()
		require.NoError(t, err)
		assert.Equal(t, bytes.Repeat(log, perFile), data, b)
	}
	assert.Equal(t, string(bytes.Repeat(log, n-3*perFile)), readFile(t, cfg.Path))
}

func TestTwoExportersCannotShareAPath(t *testing.T) {
	cfg := testConfig(t)
	first, _ := started(t, cfg)
	exp, err := NewFactory().CreateLogs(context.Background(), metadatatest.NewSettings(componenttest.NewTelemetry()), cfg)
	require.NoError(t, err)
	err = exp.Start(context.Background(), componenttest.NewNopHost())
	assert.ErrorContains(t, err, "audit file "+cfg.Path+" is locked by another process")
	require.NoError(t, exp.Shutdown(context.Background()))
	require.NoError(t, first.Shutdown(context.Background()))
	second, _ := started(t, cfg) // free again after shutdown
	require.NoError(t, second.Shutdown(context.Background()))
}
