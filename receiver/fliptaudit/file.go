package fliptaudit

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/otelcol-flipt/otelcol-flipt/internal/auditevent"
	"github.com/otelcol-flipt/otelcol-flipt/receiver/fliptaudit/internal/filetail"
	"github.com/otelcol-flipt/otelcol-flipt/receiver/fliptaudit/internal/metadata"
)

var sourceFile = metric.WithAttributeSet(attribute.NewSet(attribute.String("source", auditevent.SourceFile)))

// startFile tails the configured audit log files. The tailer checkpoints a
// batch only after consume returned nil, so nothing read is lost.
func (r *auditReceiver) startFile(ctx context.Context, host component.Host) error {
	consume, err := r.consumer("file", formatFile)
	if err != nil {
		return err
	}
	counted := func(ctx context.Context, ld plog.Logs) error {
		for _, rl := range ld.ResourceLogs().All() {
			for _, sl := range rl.ScopeLogs().All() {
				sl.Scope().SetName(metadata.ScopeName) // as the webhook's records
			}
		}
		r.telemetry.FliptAuditEventsReceived.Add(ctx, int64(ld.LogRecordCount()), sourceFile)
		return consume(ctx, ld)
	}
	onSkip := func(string, int, error) {
		r.telemetry.FliptAuditFileLinesSkipped.Add(context.Background(), 1)
	}
	// Counted in the tailer's goroutine, not per event: a change of the
	// open files, and one storage batch.
	openFiles := func(delta int64) {
		r.telemetry.FliptAuditFileOpen.Add(context.Background(), delta)
	}
	writes := func(n int64) {
		r.telemetry.FliptAuditFileCheckpointWrites.Add(context.Background(), n)
	}
	t := filetail.New(r.cfg.File.Get(), r.set.TelemetrySettings, r.set.ID, counted, onSkip,
		filetail.WithOpenFiles(openFiles), filetail.WithCheckpointWrites(writes))
	t.Limits = r.cfg.limits()
	if err := t.Start(ctx, host); err != nil {
		return err
	}
	r.file = t
	return nil
}

func (r *auditReceiver) stopFile(ctx context.Context) error {
	if r.file == nil {
		return nil
	}
	return r.file.Shutdown(ctx)
}
