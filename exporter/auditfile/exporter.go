package auditfile

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/exporter"
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
	// gc writes the batches, grouped (see groupcommit.go); writing is held
	// around each write, so the probe does not race one.
	gc      *committer
	writing sync.Mutex
	batches sync.Pool
	merge   *merger // nil when merge.window is 0; used by the committer only (or a claim's holder)
	// inline: batches wait in memory, so an idle file's caller may hand its
	// own batch to the buffer (writeInline).
	inline bool
	health health
	// waiting, if set, is called when a batch has to wait behind a group
	// being written (tests use it to line up concurrent batches).
	waiting func()
	// committing, if set, is called by the committer before each group's
	// write with the group's number of batches (tests hold it there). It
	// also turns the short path off, so every batch passes the hook.
	committing func(batches int)

	lastBatch  atomic.Int64 // unix nanoseconds of the last write attempt
	probeEvery time.Duration
	stopProbe  chan struct{}
	probing    sync.WaitGroup
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
	e := &auditFileExporter{
		enc:        encoder{format: format, skipOther: cfg.OtherRecords == otherSkip},
		logger:     set.Logger,
		tel:        tel,
		probeEvery: defaultProbeEvery,
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
	}
	e.inline = e.opts.Buffered()
	if cfg.Merge.Window > 0 {
		e.merge = newMerger(cfg.Merge, tel)
		e.enc.merging = true
	}
	return e, nil
}

func (e *auditFileExporter) start(_ context.Context, host component.Host) error {
	e.health.start(host)
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
		e.health.settle(err, nil)
	}
	e.gc = newCommitter()
	go e.run(e.gc)
	e.stopProbe = make(chan struct{})
	e.probing.Go(func() { e.probeLoop(e.stopProbe, e.probeEvery) })
	return nil
}

func (e *auditFileExporter) shutdown(ctx context.Context) error {
	defer e.tel.Shutdown()
	if e.w == nil {
		return nil
	}
	if e.stopProbe != nil {
		close(e.stopProbe)
		e.probing.Wait()
		e.stopProbe = nil
	}
	e.gc.close()
	select {
	case <-e.gc.done:
		return e.w.Close()
	case <-ctx.Done():
		// A write still runs: close once it returns, so its group is
		// either in the file or not, never cut off.
		go func() {
			<-e.gc.done
			_ = e.w.Close()
		}()
		return fmt.Errorf("audit file %s: shut down while a write is under way; the file is closed once it returns: %w",
			e.opts.Path, context.Cause(ctx))
	}
}
