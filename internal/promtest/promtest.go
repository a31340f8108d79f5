// Package promtest runs contrib's prometheus exporter on a free loopback
// port and scrapes it over HTTP, for tests of the connectors whose metrics
// users scrape.
package promtest

import (
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/prometheusexporter"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/otelcol-flipt/otelcol-flipt/internal/e2etest"
)

// Start runs a prometheus exporter with its defaults on a free loopback
// port until the test ends. It returns the exporter, its /metrics URL and
// what it logs, so a test can check the exporter never complained.
func Start(t *testing.T) (exporter.Metrics, string, *observer.ObservedLogs) {
	t.Helper()
	// A port from below the ephemeral range: one the kernel chose for port 0
	// could go to an outgoing connection before the exporter binds it.
	addr := e2etest.FreeAddr(t)
	f := prometheusexporter.NewFactory()
	cfg := f.CreateDefaultConfig().(*prometheusexporter.Config)
	cfg.NetAddr.Endpoint = addr
	core, logs := observer.New(zapcore.InfoLevel)
	set := exportertest.NewNopSettings(f.Type())
	set.Logger = zap.New(core)
	exp, err := f.CreateMetrics(context.Background(), set, cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, exp.Shutdown(context.Background())) })
	return exp, "http://" + addr + "/metrics", logs
}

// Scrape fetches url and requires a 200.
func Scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url) //nolint:noctx // loopback test server
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	return string(body)
}
