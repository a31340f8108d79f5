package fliptaudit

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
	"github.com/otelcol-flipt/otelcol-flipt/receiver/fliptaudit/internal/metadatatest"
)

// dropOtelhttp is the view the collector's service adds below telemetry
// level detailed (service/internal/metricviews).
var dropOtelhttp = sdkmetric.NewView(
	sdkmetric.Instrument{Scope: instrumentation.Scope{Name: otelhttp.ScopeName}},
	sdkmetric.Stream{Aggregation: sdkmetric.AggregationDrop{}},
)

// sawOtelhttp is a consumer that notes whether the context it was given
// went through otelhttp's middleware (which puts a labeler in it).
type sawOtelhttp struct {
	calls, withLabeler atomic.Int64
}

func (s *sawOtelhttp) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (s *sawOtelhttp) ConsumeLogs(ctx context.Context, _ plog.Logs) error {
	s.calls.Add(1)
	if _, ok := otelhttp.LabelerFromContext(ctx); ok {
		s.withLabeler.Add(1)
	}
	return nil
}

// postOneSigned starts the receiver under tel's meter provider and tp, and
// posts one captured event; it returns what the consumer saw.
func postOneSigned(t *testing.T, tel *componenttest.Telemetry, tp trace.TracerProvider) *sawOtelhttp {
	t.Helper()
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	wh := cfg.Webhook.GetOrInsertDefault()
	wh.NetAddr.Endpoint = "127.0.0.1:0"
	wh.SigningSecret = configopaque.String(fliptcapture.Secret)
	set := metadatatest.NewSettings(tel)
	set.TracerProvider = tp
	next := &sawOtelhttp{}
	rcv, err := NewFactory().CreateLogs(context.Background(), set, cfg, next)
	if err != nil {
		t.Fatal(err)
	}
	if err := rcv.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := rcv.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	})
	ev := fliptcapture.WebhookRequests(t, false)[3]
	url := "http://" + rcv.(*auditReceiver).addr.String() + wh.Path
	if resp := post(t, url, "application/json", ev.Body, signatureHeader, ev.Header(signatureHeader)); resp.status != http.StatusOK {
		t.Fatalf("%d %s", resp.status, resp.body)
	}
	if next.calls.Load() != 1 {
		t.Fatalf("consumer called %d times", next.calls.Load())
	}
	return next
}

// At the collector's default telemetry (metrics level normal, no traces)
// nothing otelhttp records is kept, and requests skip it; the receiver's
// own metrics are still recorded.
func TestOtelhttpSkippedWhenNothingItRecordsIsKept(t *testing.T) {
	tel := componenttest.NewTelemetry(componenttest.WithMetricOptions(sdkmetric.WithView(dropOtelhttp)))
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	saw := postOneSigned(t, tel, noop.NewTracerProvider())
	if saw.withLabeler.Load() != 0 {
		t.Error("the request went through otelhttp though its metrics are dropped and tracing is off")
	}
	if n := counter(t, tel, "otelcol_flipt_audit_events_received", "source", "webhook"); n != 1 {
		t.Errorf("events_received = %d, want 1", n)
	}
	if n := counter(t, tel, "otelcol_receiver_accepted_log_records", "", ""); n != 1 {
		t.Errorf("accepted_log_records = %d, want 1", n)
	}
}

// At metrics level detailed otelhttp's metrics are kept, and every request
// goes through it.
func TestOtelhttpKeptWhenItsMetricsAreKept(t *testing.T) {
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	saw := postOneSigned(t, tel, noop.NewTracerProvider())
	if saw.withLabeler.Load() != 1 {
		t.Error("the request skipped otelhttp though its metrics are kept")
	}
	if _, err := tel.GetMetric("http.server.request.duration"); err != nil {
		t.Errorf("http.server.request.duration: %v", err)
	}
}

// With traces configured otelhttp's server span is kept, whatever the
// metrics level.
func TestOtelhttpKeptWhenTracing(t *testing.T) {
	tel := componenttest.NewTelemetry(componenttest.WithMetricOptions(sdkmetric.WithView(dropOtelhttp)))
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	saw := postOneSigned(t, tel, tp)
	if saw.withLabeler.Load() != 1 {
		t.Error("the request skipped otelhttp though tracing is on")
	}
	var server int
	for _, s := range spans.Ended() {
		if s.SpanKind() == trace.SpanKindServer && s.InstrumentationScope().Name == otelhttp.ScopeName {
			server++
		}
	}
	if server != 1 {
		t.Errorf("%d otelhttp server spans ended, want 1", server)
	}
}

// A propagator carries the request's trace context on to the pipeline
// even when this collector records no spans: otelhttp stays.
func TestOtelhttpKeptWhenPropagating(t *testing.T) {
	prev := otel.GetTextMapPropagator()
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() { otel.SetTextMapPropagator(prev) })
	tel := componenttest.NewTelemetry(componenttest.WithMetricOptions(sdkmetric.WithView(dropOtelhttp)))
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	saw := postOneSigned(t, tel, noop.NewTracerProvider())
	if saw.withLabeler.Load() != 1 {
		t.Error("the request skipped otelhttp though a propagator is set")
	}
}
