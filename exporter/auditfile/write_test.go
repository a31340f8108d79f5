package auditfile

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/otelcol-flipt/otelcol-flipt/exporter/auditfile/internal/logfile"
	"github.com/otelcol-flipt/otelcol-flipt/exporter/auditfile/internal/metadatatest"
	"github.com/otelcol-flipt/otelcol-flipt/internal/auditevent"
	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
)

// A write that hangs inside the file writer (here: held in the writer's
// rotation step, under its own lock, as a hung fsync would hold it) does not
// hold the batch past the exporter's timeout: the call returns a retryable
// error naming the path, the write completes later, and nothing is lost.
func TestWriteHonoursTimeout(t *testing.T) {
	lines := fliptcapture.Lines(t, "audit.log")
	cfg := testConfig(t)
	cfg.TimeoutConfig.Timeout = time.Second
	cfg.Fsync = "never" // only the held write is slow, even on a busy disk
	cfg.FlushInterval = 0
	var (
		armed   = make(chan struct{})
		held    = make(chan struct{}, 1)
		release = make(chan struct{})
		once    sync.Once
	)
	host := newStatusHost()
	exp, e, tt := build(t, cfg, host, func(e *auditFileExporter) {
		e.opts.MaxBytes = 1 // every batch after the first rotates the file
		count := e.opts.Events.Rotated
		e.opts.Events.Rotated = func() {
			count()
			select {
			case <-armed:
				once.Do(func() { held <- struct{}{}; <-release })
			default:
			}
		}
	})
	consume(t, exp, logsOf(t, auditevent.SourceWebhook, lines[0]))
	close(armed)

	err := exp.ConsumeLogs(context.Background(), logsOf(t, auditevent.SourceWebhook, lines[1]))
	select {
	case <-held:
	case <-time.After(10 * time.Second):
		t.Fatal("the write never got under way")
	}
	require.Error(t, err, "returned while the write is still held")
	assert.False(t, consumererror.IsPermanent(err))
	assert.True(t, errors.Is(err, context.DeadlineExceeded), "%v", err)
	assert.Contains(t, err.Error(), e.opts.Path)
	assert.Contains(t, err.Error(), "the batch may still reach the file")
	assert.Equal(t, componentstatus.StatusRecoverableError, host.last().Status(), "a hung write shows in health")

	// While it hangs, later batches wait no longer than their own timeout.
	err = exp.ConsumeLogs(context.Background(), logsOf(t, auditevent.SourceWebhook, lines[2]))
	require.Error(t, err)
	assert.False(t, consumererror.IsPermanent(err))
	assert.Contains(t, err.Error(), "the batch was not written")

	close(release)
	require.Eventually(t, func() bool { return host.last().Status() == componentstatus.StatusOK },
		10*time.Second, 10*time.Millisecond, "the write completed and reported it")
	// The caller retries what timed out: the line may now be there twice,
	// never not at all.
	consume(t, exp, logsOf(t, auditevent.SourceWebhook, lines[1]), logsOf(t, auditevent.SourceWebhook, lines[2]))
	require.NoError(t, exp.Shutdown(context.Background()))
	var all strings.Builder
	for _, p := range allFiles(t, cfg.Path) {
		all.WriteString(readFile(t, p))
	}
	assert.ElementsMatch(t, []string{string(lines[0]), string(lines[1]), string(lines[1]), string(lines[2])},
		strings.Split(strings.TrimSuffix(all.String(), "\n"), "\n"))
	metadatatest.AssertEqualAuditFileWriteTimeouts(t, tt, []metricdata.DataPoint[int64]{{Value: 1}}, ignore...)
}

// Shutdown during a hung write returns by its deadline; the file is closed
// once the write returns.
func TestShutdownDuringHungWrite(t *testing.T) {
	cfg := testConfig(t)
	cfg.TimeoutConfig.Timeout = time.Second
	cfg.Fsync = "never"
	cfg.FlushInterval = 0
	var (
		armed   = make(chan struct{})
		release = make(chan struct{})
		once    sync.Once
	)
	exp, e, _ := build(t, cfg, newStatusHost(), func(e *auditFileExporter) {
		e.opts.MaxBytes = 1
		e.opts.Events.Rotated = func() {
			select {
			case <-armed:
				once.Do(func() { <-release })
			default:
			}
		}
	})
	line := fliptcapture.Lines(t, "audit.log")[0]
	consume(t, exp, logsOf(t, auditevent.SourceWebhook, line))
	close(armed)
	require.Error(t, exp.ConsumeLogs(context.Background(), logsOf(t, auditevent.SourceWebhook, line)))

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := exp.Shutdown(ctx)
	require.Error(t, err)
	assert.Contains(t, err.Error(), e.opts.Path)
	close(release)
	// Closed once the write returned: its lock is free for another writer.
	require.Eventually(t, func() bool {
		w, err := logfile.New(e.opts)
		if errors.Is(err, logfile.ErrLocked) {
			return false
		}
		require.NoError(t, w.Close())
		return true
	}, 10*time.Second, 10*time.Millisecond, "closed after the write returned")
}
