package auditfile

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelcol-flipt/otelcol-flipt/exporter/auditfile/internal/logfile"
	"github.com/otelcol-flipt/otelcol-flipt/exporter/auditfile/internal/metadata"
	"github.com/otelcol-flipt/otelcol-flipt/internal/auditevent"
)

type auditFileExporter struct {
	opts   logfile.Options
	enc    encoder
	logger *zap.Logger
	tel    *metadata.TelemetryBuilder
	w      *logfile.Writer
	bufs   sync.Pool
}

func newExporter(cfg *Config, set exporter.Settings) (*auditFileExporter, error) {
	format, err := auditevent.ParseFormat(cfg.Format)
	if err != nil {
		return nil, err
	}
	perm, err := cfg.perm()
	if err != nil {
		return nil, err
	}
	sync, err := logfile.ParseSync(cfg.Fsync)
	if err != nil {
		return nil, err
	}
	path, err := filepath.Abs(cfg.Path)
	if err != nil {
		return nil, fmt.Errorf("path: %w", err)
	}
	tel, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	count := func(c metric.Int64Counter) func() { return func() { c.Add(ctx, 1) } }
	return &auditFileExporter{
		enc:    encoder{format: format, skipOther: cfg.OtherRecords == otherSkip},
		logger: set.Logger,
		tel:    tel,
		opts: logfile.Options{
			Path:          path,
			Perm:          perm,
			MaxBytes:      int64(cfg.Rotation.MaxMegabytes) << 20,
			Interval:      cfg.Rotation.Interval,
			MaxBackups:    cfg.Rotation.MaxBackups,
			MaxAge:        cfg.Rotation.MaxAge,
			Compress:      cfg.Rotation.Compress,
			Sync:          sync,
			FlushInterval: cfg.FlushInterval,
			Chain:         cfg.HashChain,
			Logger:        set.Logger,
			Events: logfile.Events{
				Rotated:     count(tel.AuditFileRotations),
				WriteError:  count(tel.AuditFileWriteErrors),
				TornTail:    count(tel.AuditFileTornTailsRepaired),
				ChainBroken: count(tel.AuditFileChainBreaks),
			},
		},
	}, nil
}

func (e *auditFileExporter) start(context.Context, component.Host) error {
	w, err := logfile.New(e.opts)
	if errors.Is(err, logfile.ErrLocked) {
		// Another collector or exporter writes the file (flock on
		// <path>.lock): two writers would break rotation and the chain.
		return err
	}
	e.w = w
	e.logger.Info("Writing Flipt audit events", zap.String("path", e.opts.Path),
		zap.Stringer("format", e.enc.format), zap.Bool("hash_chain", e.opts.Chain))
	if err != nil {
		// Not fatal: writes fail as retryable (keeping the data upstream)
		// and reopen the file once the cause is fixed.
		e.logger.Error("Cannot open the audit file yet; will retry on every write", zap.Error(err))
	}
	return nil
}

func (e *auditFileExporter) shutdown(context.Context) error {
	defer e.tel.Shutdown()
	if e.w == nil {
		return nil
	}
	return e.w.Close()
}

func (e *auditFileExporter) consumeLogs(ctx context.Context, ld plog.Logs) error {
	bp, _ := e.bufs.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	buf, written, skipped := e.enc.appendLogs((*bp)[:0], ld)
	defer func() {
		*bp = buf
		e.bufs.Put(bp)
	}()
	if skipped > 0 {
		e.tel.AuditFileRecordsSkipped.Add(ctx, int64(skipped))
	}
	if written == 0 {
		return nil
	}
	// A plain error is retryable: the retry sender, the queue or the sender
	// upstream (the webhook receiver answers 503) keeps the batch.
	if err := e.w.Write(buf); err != nil {
		return err
	}
	e.tel.AuditFileRecordsWritten.Add(ctx, int64(written))
	e.tel.AuditFileBytesWritten.Add(ctx, int64(len(buf)))
	return nil
}
