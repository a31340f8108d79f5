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

const ndjsonEvents = 1000

// BenchmarkNDJSONBatches: bodies of 1,000 events as signed NDJSON, beside
// the otlp receiver fed the same 1,000 events as one OTLP/JSON logs request
// (goal: 2x). Both report events/s.
func BenchmarkNDJSONBatches(b *testing.B) {
	var body bytes.Buffer
	now := time.Now()
	for i := range ndjsonEvents {
		body.Write(loadgen.WebhookEvent("bench", i, 1, now))
		body.WriteByte('\n')
	}
	b.Run("otlp_receiver_logs_json", func(b *testing.B) {
		url := startOTLP(b)
		req := request{url: url, contentType: "application/json", body: otlpJSON(b, body.Bytes())}
		start := time.Now()
		drive(b, []request{req}, 2)
		b.ReportMetric(float64(b.N*ndjsonEvents)/time.Since(start).Seconds(), "events/s")
	})
	b.Run("flipt_audit_webhook_ndjson", func(b *testing.B) {
		url := startWebhook(b, "s3cr3t")
		req := request{url: url, contentType: "application/x-ndjson", body: body.Bytes(),
			headers: map[string]string{loadgen.SignatureHeader: loadgen.Sign("s3cr3t", body.Bytes())}}
		start := time.Now()
		drive(b, []request{req}, 2)
		b.ReportMetric(float64(b.N*ndjsonEvents)/time.Since(start).Seconds(), "events/s")
	})
}
