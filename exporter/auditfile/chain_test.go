package auditfile

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/otelcol-flipt/otelcol-flipt/exporter/auditfile/internal/metadatatest"
	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
)

// Lines appended to the audit file behind the chain's back while the
// collector was stopped: at start the pair is rotated aside as evidence,
// counted in otelcol_audit_file_chain_breaks, and VerifyRotated names the
// forged lines while the new segment links on.
func TestForgedLinesCountedAsChainBreak(t *testing.T) {
	cfg := testConfig(t)
	cfg.HashChain = true
	exp, _ := started(t, cfg)
	consume(t, exp, auditLogBatch(t))
	require.NoError(t, exp.Shutdown(context.Background()))
	require.NoError(t, VerifyRotated(cfg.Path))

	f, err := os.OpenFile(cfg.Path, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = f.WriteString(`{"forged":true}` + "\n")
	require.NoError(t, err)
	require.NoError(t, f.Close())

	exp, tt := started(t, cfg)
	consume(t, exp, auditLogBatch(t))
	require.NoError(t, exp.Shutdown(context.Background()))
	metadatatest.AssertEqualAuditFileChainBreaks(t, tt, []metricdata.DataPoint[int64]{{Value: 1}},
		metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
	assert.Equal(t, string(fliptcapture.AuditLog(t)), readFile(t, cfg.Path), "a fresh file after the evidence")
	err = VerifyRotated(cfg.Path)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "lines 54 to 54")
	assert.Equal(t, 1, strings.Count(err.Error(), "\n")+1, "one failure, at the evidence file: %v", err)
}

// logrotate between batches, both ways (move, then copytruncate), through
// the exporter built from its factory: every line is in exactly one file and
// the chain verifies across logrotate's files.
func TestExternalRotationKeepsEveryLineOnce(t *testing.T) {
	cfg := testConfig(t)
	cfg.HashChain = true
	exp, tt := started(t, cfg)
	log := string(fliptcapture.AuditLog(t))
	consume(t, exp, auditLogBatch(t))
	require.NoError(t, os.Rename(cfg.Path, cfg.Path+".2")) // move (create/nocreate)
	consume(t, exp, auditLogBatch(t))
	data, err := os.ReadFile(cfg.Path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(cfg.Path+".1", data, 0o600)) // copytruncate
	require.NoError(t, os.Truncate(cfg.Path, 0))
	consume(t, exp, auditLogBatch(t))
	require.NoError(t, exp.Shutdown(context.Background()))

	assert.Equal(t, log+log+log, readFile(t, cfg.Path+".2")+readFile(t, cfg.Path+".1")+readFile(t, cfg.Path))
	require.NoError(t, VerifyRotated(cfg.Path))
	metadatatest.AssertEqualAuditFileRecordsWritten(t, tt, []metricdata.DataPoint[int64]{{Value: 3 * 53}},
		metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
}
