package fliptaudit

import (
	"context"
	"net/http"
	"sync/atomic"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/confighttp/xconfighttp"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/semconv/v1.41.0/httpconv"
	"go.opentelemetry.io/otel/trace"
)

// httpTelemetry decides whether confighttp's otelhttp middleware runs for
// each request. What it makes (a server span, the http.server.* metrics,
// the trace context taken from the request's headers) is dropped by the
// collector unless traces are configured or the metrics level is detailed;
// then its cost per request, a tenth of the webhook's CPU, buys nothing,
// and the request skips it.
type httpTelemetry struct {
	visible atomic.Bool
}

// option is the filter to give ToServer; it asks visible, which is set
// once the server (and otelhttp's instruments) exist.
func (t *httpTelemetry) option() confighttp.ToServerOption {
	return xconfighttp.WithOtelHTTPOptions(otelhttp.WithFilter(func(*http.Request) bool { return t.visible.Load() }))
}

// decide looks at what the collector made of its telemetry settings.
func (t *httpTelemetry) decide(set component.TelemetrySettings) {
	t.visible.Store(otelhttpVisible(set))
}

// otelhttpVisible reports whether anything otelhttp records under set
// reaches anyone: one of its metrics is enabled (the collector drops them
// below level detailed with a view, which Enabled reflects), its tracer
// makes real spans (the collector's tracer provider is a no-op unless
// traces are configured), or a propagator would carry the request's trace
// context on.
func otelhttpVisible(set component.TelemetrySettings) bool {
	if len(otel.GetTextMapPropagator().Fields()) > 0 {
		return true
	}
	if set.MeterProvider != nil && otelhttpMetricsEnabled(set.MeterProvider) {
		return true
	}
	if set.TracerProvider != nil {
		tracer := set.TracerProvider.Tracer(otelhttp.ScopeName, trace.WithInstrumentationVersion(otelhttp.Version))
		// Never ended, so never exported: an SDK exports a span at End.
		_, span := tracer.Start(context.Background(), "flipt_audit webhook telemetry probe")
		if span.SpanContext().IsValid() || span.IsRecording() {
			return true
		}
	}
	return false
}

// otelhttpMetricsEnabled asks the instruments otelhttp's server records
// to, made as it makes them (so the SDK hands back the same ones).
func otelhttpMetricsEnabled(mp metric.MeterProvider) bool {
	meter := mp.Meter(otelhttp.ScopeName, metric.WithInstrumentationVersion(otelhttp.Version))
	ctx := context.Background()
	// On an error the instrument is a no-op: count it as enabled, so that
	// a doubt keeps the middleware.
	duration, err1 := httpconv.NewServerRequestDuration(meter, metric.WithExplicitBucketBoundaries(
		0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10))
	reqSize, err2 := httpconv.NewServerRequestBodySize(meter)
	respSize, err3 := httpconv.NewServerResponseBodySize(meter)
	return err1 != nil || err2 != nil || err3 != nil ||
		duration.Inst().Enabled(ctx) || reqSize.Inst().Enabled(ctx) || respSize.Inst().Enabled(ctx)
}
