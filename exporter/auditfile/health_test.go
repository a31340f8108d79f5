package auditfile

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componentstatus"

	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
)

// An audit file that cannot be opened or written shows as a recoverable
// error, reported once when it starts failing, and as OK again after the
// next successful write.
func TestStatusFollowsTheFile(t *testing.T) {
	cfg := testConfig(t)
	dir := filepath.Dir(cfg.Path)
	require.NoError(t, os.WriteFile(dir, []byte("x"), 0o600)) // the directory cannot be made
	host := newStatusHost()
	exp, _, _ := build(t, cfg, host, nil)
	require.Equal(t, []componentstatus.Status{componentstatus.StatusRecoverableError}, host.statuses(), "failing from the start")
	assert.ErrorContains(t, host.last().Err(), cfg.Path)

	for range 2 {
		require.Error(t, exp.ConsumeLogs(context.Background(), auditLogBatch(t)))
	}
	assert.Len(t, host.statuses(), 1, "repeated failures keep the time of the first")

	require.NoError(t, os.Remove(dir))
	consume(t, exp, auditLogBatch(t))
	assert.Equal(t, []componentstatus.Status{componentstatus.StatusRecoverableError, componentstatus.StatusOK}, host.statuses())

	require.NoError(t, os.RemoveAll(dir))
	require.NoError(t, os.WriteFile(dir, []byte("x"), 0o600)) // fails again while running
	require.Error(t, exp.ConsumeLogs(context.Background(), auditLogBatch(t)))
	require.NoError(t, os.Remove(dir))
	consume(t, exp, auditLogBatch(t))
	assert.Equal(t, []componentstatus.Status{
		componentstatus.StatusRecoverableError, componentstatus.StatusOK,
		componentstatus.StatusRecoverableError, componentstatus.StatusOK,
	}, host.statuses())
}

// A healthy start reports nothing of its own: the collector reports OK
// once Start returns.
func TestStatusSilentWhileHealthy(t *testing.T) {
	host := newStatusHost()
	exp, _, _ := build(t, testConfig(t), host, nil)
	consume(t, exp, auditLogBatch(t), auditLogBatch(t))
	assert.Empty(t, host.statuses())
}

// Flipt's events can be hours apart: once the cause is fixed, health turns
// OK without waiting for the next event, and the file is not written.
func TestStatusRecoversWhileIdle(t *testing.T) {
	cfg := testConfig(t)
	dir := filepath.Dir(cfg.Path)
	require.NoError(t, os.WriteFile(dir, []byte("x"), 0o600))
	host := newStatusHost()
	exp, _, _ := build(t, cfg, host, func(e *auditFileExporter) { e.probeEvery = 20 * time.Millisecond })
	require.Error(t, exp.ConsumeLogs(context.Background(), auditLogBatch(t)))
	require.Equal(t, []componentstatus.Status{componentstatus.StatusRecoverableError}, host.statuses())

	require.NoError(t, os.Remove(dir))
	require.Eventually(t, func() bool { return host.last().Status() == componentstatus.StatusOK },
		10*time.Second, 10*time.Millisecond)
	assert.Empty(t, readFile(t, cfg.Path), "probing writes nothing")
	consume(t, exp, auditLogBatch(t))
	assert.Equal(t, string(fliptcapture.AuditLog(t)), readFile(t, cfg.Path))
}

// A path the writer would refuse to open is not taken for recovered.
func TestProbeRefusesWhatCannotBeAppended(t *testing.T) {
	dir := t.TempDir()
	assert.NoError(t, canAppend(filepath.Join(dir, "new", "a.log"), 0o600))
	assert.Error(t, canAppend(dir, 0o600), "a directory")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "f"), nil, 0o600))
	assert.Error(t, canAppend(filepath.Join(dir, "f", "a.log"), 0o600), "a file where the directory should be")
}
