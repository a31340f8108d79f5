// Package ingest compares webhook ingest of the flipt_audit receiver with
// the collector's own otlp receiver taking the same events as one-record
// OTLP/HTTP JSON log requests, and with a bare net/http handler that reads
// and discards the body (the ceiling). All three run in one process over
// loopback with keep-alive, into a no-op consumer.
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
)

const conns = 8

func BenchmarkIngest(b *testing.B) {
	ev := fliptcapture.WebhookRequests(b, false)[3] // the flag with "Tom & Jerry <beta>"

	b.Run("bare_net_http", func(b *testing.B) {
		addr := e2etest.FreeAddr(b)
		l, err := net.Listen("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
		})}
		go func() { _ = srv.Serve(l) }()
		defer srv.Close()
		drive(b, request{url: "http://" + addr + "/flipt/audit", contentType: "application/json", body: ev.Body}, conns)
	})

	b.Run("otlp_receiver_logs_json", func(b *testing.B) {
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
		defer func() { _ = r.Shutdown(context.Background()) }()

		ld := plog.NewLogs()
		lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
		if err := auditevent.DecodeRecord(ev.Body, lr, auditevent.SourceWebhook, 0); err != nil {
			b.Fatal(err)
		}
		body, err := plogotlp.NewExportRequestFromLogs(ld).MarshalJSON()
		if err != nil {
			b.Fatal(err)
		}
		drive(b, request{url: "http://" + addr + "/v1/logs", contentType: "application/json", body: body}, conns)
	})

	benchWebhook(b, ev.Body, ev.Header("X-Flipt-Webhook-Signature"))
}
