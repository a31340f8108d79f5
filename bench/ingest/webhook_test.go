package ingest

import (
	"bytes"
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/otelcol-flipt/otelcol-flipt/internal/e2etest"
	"github.com/otelcol-flipt/otelcol-flipt/internal/loadgen"
	"github.com/otelcol-flipt/otelcol-flipt/receiver/fliptaudit"
)

// startWebhook runs the flipt_audit receiver's webhook on a free port into
// a no-op consumer and returns its URL.
func startWebhook(b *testing.B, secret string) string {
	f := fliptaudit.NewFactory()
	cfg := f.CreateDefaultConfig().(*fliptaudit.Config)
	wh := cfg.Webhook.GetOrInsertDefault()
	wh.NetAddr.Endpoint = e2etest.FreeAddr(b)
	wh.SigningSecret = configopaque.String(secret)
	r, err := f.CreateLogs(context.Background(), receivertest.NewNopSettings(f.Type()), cfg, consumertest.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	if err := r.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = r.Shutdown(context.Background()) })
	return "http://" + wh.NetAddr.Endpoint + wh.Path
}

// benchWebhook: single signed events, as Flipt sends them.
func benchWebhook(b *testing.B, body []byte, sig string) {
	b.Run("flipt_audit_webhook_signed", func(b *testing.B) {
		url := startWebhook(b, "s3cr3t")
		drive(b, request{url: url, contentType: "application/json", body: body,
			headers: map[string]string{loadgen.SignatureHeader: sig}}, conns)
	})
}

// BenchmarkNDJSONBatches: bodies of 1,000 events (goal: 200k events/s).
func BenchmarkNDJSONBatches(b *testing.B) {
	var body bytes.Buffer
	now := time.Now()
	for i := range 1000 {
		body.Write(loadgen.WebhookEvent("bench", i, 1, now))
		body.WriteByte('\n')
	}
	url := startWebhook(b, "s3cr3t")
	start := time.Now()
	drive(b, request{url: url, contentType: "application/x-ndjson", body: body.Bytes(),
		headers: map[string]string{loadgen.SignatureHeader: loadgen.Sign("s3cr3t", body.Bytes())}}, 2)
	b.ReportMetric(float64(b.N*1000)/time.Since(start).Seconds(), "events/s")
}
