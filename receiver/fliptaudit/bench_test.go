package fliptaudit

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"

	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
	"github.com/otelcol-flipt/otelcol-flipt/receiver/fliptaudit/internal/metadata"
)

// BenchmarkWebhookHandler measures one captured Flipt request through the
// handler: signature check, decode, hand-off (no network).
func BenchmarkWebhookHandler(b *testing.B) {
	tb, err := metadata.NewTelemetryBuilder(componenttest.NewNopTelemetrySettings())
	if err != nil {
		b.Fatal(err)
	}
	next := consumertest.NewNop()
	h := newWebhookHandler(&WebhookConfig{Path: defaultPath, SigningSecret: fliptcapture.Secret}, tb, next.ConsumeLogs)
	reqs := fliptcapture.WebhookRequests(b, false)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		r := reqs[i%len(reqs)]
		req := httptest.NewRequest(http.MethodPost, defaultPath, bytes.NewReader(r.Body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(signatureHeader, r.Header(signatureHeader))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code)
		}
	}
}

// BenchmarkConnector measures the connector on Flipt's 8 captured trace
// exports (616 spans, 53 audit events), reported per export.
func BenchmarkConnector(b *testing.B) {
	tb, err := metadata.NewTelemetryBuilder(componenttest.NewNopTelemetrySettings())
	if err != nil {
		b.Fatal(err)
	}
	c := &tracesToLogs{next: consumertest.NewNop(), telemetry: tb, now: time.Now}
	traces := fliptcapture.Traces(b)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := c.ConsumeTraces(context.Background(), traces[i%len(traces)]); err != nil {
			b.Fatal(err)
		}
	}
}
