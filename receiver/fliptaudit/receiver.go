package fliptaudit

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.uber.org/zap"

	"github.com/otelcol-flipt/otelcol-flipt/receiver/fliptaudit/internal/filetail"
	"github.com/otelcol-flipt/otelcol-flipt/receiver/fliptaudit/internal/metadata"
)

// Formats reported to obsreport, one per way in.
const (
	formatWebhook = "flipt_webhook"
	formatFile    = "flipt_log"
)

// auditReceiver runs the webhook endpoint and the file tailer, each handing
// its records to the next consumer through the standard receiver telemetry.
type auditReceiver struct {
	cfg       *Config
	set       receiver.Settings
	next      consumer.Logs
	telemetry *metadata.TelemetryBuilder

	server  *http.Server
	handler *webhookHandler
	addr    net.Addr // where the webhook listens, once started
	served  sync.WaitGroup
	file    *filetail.Tailer
	health  pipelineHealth // of hand-offs from both sources
}

func newReceiver(set receiver.Settings, cfg *Config, next consumer.Logs) (*auditReceiver, error) {
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	return &auditReceiver{cfg: cfg, set: set, next: next, telemetry: tb}, nil
}

// consumer returns a consume func that reports to the standard receiver
// telemetry under transport and format.
func (r *auditReceiver) consumer(transport, format string) (func(context.Context, plog.Logs) error, error) {
	obs, err := receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{
		ReceiverID:             r.set.ID,
		Transport:              transport,
		ReceiverCreateSettings: r.set,
	})
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, ld plog.Logs) error {
		n := ld.LogRecordCount()
		ctx = obs.StartLogsOp(ctx)
		err := r.next.ConsumeLogs(ctx, ld)
		obs.EndLogsOp(ctx, format, n, err)
		r.health.record(err)
		return err
	}, nil
}

func (r *auditReceiver) Start(ctx context.Context, host component.Host) error {
	if wh := r.cfg.webhook(); wh != nil {
		if err := r.startWebhook(ctx, host, wh); err != nil {
			return err
		}
	}
	if r.cfg.File.HasValue() {
		if err := r.startFile(ctx, host); err != nil {
			return errors.Join(err, r.stopWebhook(ctx))
		}
	}
	return nil
}

func (r *auditReceiver) startWebhook(ctx context.Context, host component.Host, cfg *WebhookConfig) error {
	consume, err := r.consumer("http", formatWebhook)
	if err != nil {
		return err
	}
	h := newWebhookHandler(cfg, r.telemetry, consume)
	h.limits = r.cfg.limits()
	h.health = &r.health
	h.sigWarn.logger = r.set.Logger
	h.runners = newHandOffRunners()
	r.handler = h
	if h.secret == nil {
		r.set.Logger.Warn("The flipt_audit webhook has no signing_secret: requests are accepted without a signature check")
	}
	ln, err := cfg.ToListener(ctx)
	if err != nil {
		return err
	}
	var otelhttpOn httpTelemetry
	r.server, err = cfg.ToServer(ctx, host.GetExtensions(), r.set.TelemetrySettings, h,
		confighttp.WithErrorHandler(h.errorHandler), otelhttpOn.option())
	if err != nil {
		return errors.Join(err, ln.Close())
	}
	// After ToServer, which made otelhttp's instruments: the probe gets
	// the same ones.
	otelhttpOn.decide(r.set.TelemetrySettings)
	// Before confighttp's decompression, which matches the header exactly.
	r.server.Handler = normalizeContentEncoding(r.server.Handler)
	r.addr = ln.Addr()
	r.set.Logger.Info("Flipt audit webhook listening",
		zap.String("endpoint", ln.Addr().String()), zap.String("path", cfg.Path), zap.String("health_path", cfg.HealthPath))
	r.served.Go(func() {
		if err := r.server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			componentstatus.ReportStatus(host, componentstatus.NewFatalErrorEvent(err))
		}
	})
	return nil
}

// stopWebhook ends every hold (those requests are answered 503, so Flipt
// sends them again to the next collector), stops accepting and waits for
// the answers, so that no sender is left without one. Connections still
// busy when ctx ends are closed.
// drainGrace is how long Shutdown lets requests in progress finish before
// it ends their holds.
const drainGrace = 2 * time.Second

func (r *auditReceiver) stopWebhook(ctx context.Context) error {
	if r.server == nil {
		return nil
	}
	// A hand-off under way gets drainGrace to finish on its own, so its
	// answer says what really happened (a write cut short by the stop could
	// land after a 503, and Flipt would send the event again); holds still
	// waiting after that are ended with 503.
	drain := time.AfterFunc(drainGrace, func() { r.handler.stop(errStopping) })
	// Once every request still running has its answer, those left wait on
	// a consumer that ignores its context: Shutdown stops waiting for them
	// (their connections close when their consumer returns).
	waiting, answered := context.WithCancel(ctx)
	defer answered()
	go func() {
		select {
		case <-r.handler.inflight.Quiet():
			answered()
		case <-waiting.Done():
		}
	}()
	err := r.server.Shutdown(waiting)
	if errors.Is(err, context.Canceled) && ctx.Err() == nil {
		err = nil // every sender was answered
	}
	drain.Stop()
	r.handler.stop(errStopping)
	if err != nil {
		err = errors.Join(err, r.server.Close())
	}
	r.served.Wait()
	r.handler.runners.stop()
	return err
}

func (r *auditReceiver) Shutdown(ctx context.Context) error {
	err := errors.Join(r.stopWebhook(ctx), r.stopFile(ctx))
	r.telemetry.Shutdown()
	return err
}
