// Package ingest compares webhook ingest of the flipt_audit receiver with
// the collector's own otlp receiver taking the same events as OTLP/HTTP JSON
// log requests, and with a bare net/http handler that reads and discards the
// body of the webhook's very requests (the ceiling). All three run in one
// process over loopback with keep-alive, into a no-op consumer. Two drivers:
// 8 connections repeating one event (BenchmarkIngest), and 2 connections
// replaying the 51 bodies a real Flipt sent (BenchmarkIngestCaptures).
package ingest

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configgrpc"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/otelcol-flipt/otelcol-flipt/internal/auditevent"
	"github.com/otelcol-flipt/otelcol-flipt/internal/e2etest"
	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
	"github.com/otelcol-flipt/otelcol-flipt/internal/loadgen"
)

const (
	conns        = 8 // the project's driver
	captureConns = 2 // the captures' driver
)

func BenchmarkIngest(b *testing.B) {
	ev := fliptcapture.WebhookRequests(b, false)[3] // the flag with "Tom & Jerry <beta>"
	compare(b, []fliptcapture.WebhookRequest{ev}, conns)
}

// BenchmarkIngestCaptures replays the 51 captured webhook bodies in order,
// each with the signature Flipt sent, from 2 client goroutines; the otlp
// receiver gets each as the one-record OTLP/HTTP JSON logs request
// flipt_audit would make of it.
func BenchmarkIngestCaptures(b *testing.B) {
	compare(b, fliptcapture.WebhookRequests(b, false), captureConns)
}

// compare drives the three servers with Flipt's requests in caps. The bare
// handler gets them exactly as the webhook does, signature header and
// all: its parsing is net/http's work, which no handler can skip, so the
// ceiling pays it too.
func compare(b *testing.B, caps []fliptcapture.WebhookRequest, conns int) {
	flipt := func(url string) []request {
		reqs := make([]request, len(caps))
		for i, c := range caps {
			reqs[i] = request{url: url, contentType: "application/json", body: c.Body,
				headers: map[string]string{loadgen.SignatureHeader: c.Header(loadgen.SignatureHeader)}}
		}
		return reqs
	}
	b.Run("bare_net_http", func(b *testing.B) {
		drive(b, flipt(startBare(b)), conns)
	})
	b.Run("otlp_receiver_logs_json", func(b *testing.B) {
		url := startOTLP(b)
		reqs := make([]request, len(caps))
		for i, c := range caps {
			reqs[i] = request{url: url, contentType: "application/json", body: otlpJSON(b, c.Body)}
		}
		drive(b, reqs, conns)
	})
	b.Run("flipt_audit_webhook_signed", func(b *testing.B) {
		drive(b, flipt(startWebhook(b, fliptcapture.Secret)), conns)
	})
}

// startBare runs a handler that reads and discards the body.
func startBare(b *testing.B) string {
	addr := e2etest.FreeAddr(b)
	l, err := net.Listen("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	})}
	go func() { _ = srv.Serve(l) }()
	b.Cleanup(func() { _ = srv.Close() })
	return "http://" + addr + "/flipt/audit"
}

// startOTLP runs the core otlp receiver (HTTP only) into a no-op consumer
// and returns its logs URL.
func startOTLP(b *testing.B) string {
	f := otlpreceiver.NewFactory()
	cfg := f.CreateDefaultConfig().(*otlpreceiver.Config)
	addr := e2etest.FreeAddr(b)
	cfg.Protocols.GRPC = configoptional.None[configgrpc.ServerConfig]()
	cfg.Protocols.HTTP.GetOrInsertDefault().ServerConfig.NetAddr.Endpoint = addr
	r, err := f.CreateLogs(context.Background(), receivertest.NewNopSettings(f.Type()), cfg, consumertest.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	if err := r.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = r.Shutdown(context.Background()) })
	return "http://" + addr + "/v1/logs"
}

// otlpJSON turns webhook bodies (one event each, or NDJSON) into one
// OTLP/HTTP JSON logs request holding the records flipt_audit makes of them.
func otlpJSON(b *testing.B, bodies ...[]byte) []byte {
	ld := plog.NewLogs()
	records := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for _, body := range bodies {
		if _, err := auditevent.DecodeRecords(body, records.AppendEmpty, auditevent.SourceWebhook, 0); err != nil {
			b.Fatal(err)
		}
	}
	out, err := plogotlp.NewExportRequestFromLogs(ld).MarshalJSON()
	if err != nil {
		b.Fatal(err)
	}
	return out
}
