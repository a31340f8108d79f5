package auditfile

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/connector/countconnector"
	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/prometheusexporter"
	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/healthcheckv2extension"
	"github.com/open-telemetry/opentelemetry-collector-contrib/processor/deltatocumulativeprocessor"
	"github.com/open-telemetry/opentelemetry-collector-contrib/processor/transformprocessor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/otelcol"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/memorylimiterprocessor"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/service/telemetry/otelconftelemetry"

	defaultconfig "github.com/otelcol-flipt/otelcol-flipt/config"
	"github.com/otelcol-flipt/otelcol-flipt/connector/evaluationmetrics"
	"github.com/otelcol-flipt/otelcol-flipt/internal/e2etest"
	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
	"github.com/otelcol-flipt/otelcol-flipt/processor/cachemetrics"
	"github.com/otelcol-flipt/otelcol-flipt/receiver/fliptaudit"
	"github.com/otelcol-flipt/otelcol-flipt/receiver/fliptaudit/fliptauditconnector"
)

// defaultPipelineFactories are the components the embedded default
// pipeline uses.
func defaultPipelineFactories() (otelcol.Factories, error) {
	f := otelcol.Factories{Telemetry: otelconftelemetry.NewFactory()}
	var err error
	if f.Receivers, err = otelcol.MakeFactoryMap[receiver.Factory](fliptaudit.NewFactory(), otlpreceiver.NewFactory()); err != nil {
		return f, err
	}
	if f.Processors, err = otelcol.MakeFactoryMap[processor.Factory](memorylimiterprocessor.NewFactory(),
		transformprocessor.NewFactory(), deltatocumulativeprocessor.NewFactory()); err != nil {
		return f, err
	}
	if f.Connectors, err = otelcol.MakeFactoryMap[connector.Factory](cachemetrics.NewFactory(), fliptauditconnector.NewFactory(),
		evaluationmetrics.NewFactory(), countconnector.NewFactory()); err != nil {
		return f, err
	}
	if f.Exporters, err = otelcol.MakeFactoryMap[exporter.Factory](NewFactory(), prometheusexporter.NewFactory()); err != nil {
		return f, err
	}
	f.Extensions, err = otelcol.MakeFactoryMap[extension.Factory](healthcheckv2extension.NewFactory())
	return f, err
}

func httpStatus(url string) int {
	resp, err := http.Get(url) //nolint:noctx // loopback poll
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func postBody(url, contentType string, body []byte, headers ...string) (int, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", contentType)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// The embedded default pipeline, run from the factories with its addresses
// moved to free loopback ports: Flipt's events from the webhook and from its
// traces land in the audit file once, and its health endpoint answers 200
// only while the audit file can be written.
func TestDefaultPipelineMergesAndReportsHealth(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "audit")
	path := filepath.Join(dir, "flipt-audit.log")
	health, webhook, otlpHTTP := e2etest.FreeAddr(t), e2etest.FreeAddr(t), e2etest.FreeAddr(t)
	for k, v := range map[string]string{
		"OTELCOL_FLIPT_HEALTH_ENDPOINT":     health,
		"OTELCOL_FLIPT_WEBHOOK_ENDPOINT":    webhook,
		"OTELCOL_FLIPT_OTLP_HTTP_ENDPOINT":  otlpHTTP,
		"OTELCOL_FLIPT_OTLP_GRPC_ENDPOINT":  e2etest.FreeAddr(t),
		"OTELCOL_FLIPT_PROMETHEUS_ENDPOINT": e2etest.FreeAddr(t),
		"OTELCOL_FLIPT_TELEMETRY_HOST":      "127.0.0.1",
		"OTELCOL_FLIPT_AUDIT_FILE":          path,
	} {
		t.Setenv(k, v)
	}
	port := e2etest.FreePort(t)
	t.Setenv("OTELCOL_FLIPT_TELEMETRY_PORT", strconv.Itoa(port))

	col, err := otelcol.NewCollector(otelcol.CollectorSettings{
		BuildInfo: component.NewDefaultBuildInfo(),
		Factories: defaultPipelineFactories,
		ConfigProviderSettings: otelcol.ConfigProviderSettings{ResolverSettings: confmap.ResolverSettings{
			URIs:              []string{defaultconfig.DefaultURI},
			ProviderFactories: []confmap.ProviderFactory{defaultconfig.NewFactory(), envprovider.NewFactory()},
			DefaultScheme:     "env",
		}},
	})
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- col.Run(context.Background()) }()
	t.Cleanup(func() {
		col.Shutdown()
		assert.NoError(t, <-done)
	})
	url := "http://" + health + "/"
	require.Eventually(t, func() bool { return httpStatus(url) == http.StatusOK }, time.Minute, 20*time.Millisecond)

	// Both ways in, as Flipt sends them: each event once in the file.
	webhooks := fliptcapture.WebhookRequests(t, false)
	seen := map[string]bool{}
	for _, r := range append(webhooks, fliptcapture.WebhookRequests(t, true)...) {
		if seen[string(r.Body)] {
			continue
		}
		seen[string(r.Body)] = true
		code, err := postBody("http://"+webhook+"/flipt/audit", "application/json", r.Body,
			"X-Flipt-Webhook-Signature", r.Header("X-Flipt-Webhook-Signature"))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, code)
	}
	for _, body := range fliptcapture.TraceBodies(t) {
		code, err := postBody("http://"+otlpHTTP+"/v1/traces", "application/x-protobuf", body)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, code)
	}
	log := string(fliptcapture.AuditLog(t))
	require.Equal(t, log, readFile(t, path), "the webhook's and the traces' copies merged")

	// The audit file cannot be written: its directory is replaced by a file.
	require.NoError(t, os.RemoveAll(dir))
	require.NoError(t, os.WriteFile(dir, nil, 0o600))
	posted := make(chan int, 1)
	again := webhooks[0]
	go func() {
		// Held by the exporter's retries until the file can be written.
		code, _ := postBody("http://"+webhook+"/flipt/audit", "application/json", again.Body,
			"X-Flipt-Webhook-Signature", again.Header("X-Flipt-Webhook-Signature"))
		posted <- code
	}()
	require.Eventually(t, func() bool { return httpStatus(url) == http.StatusInternalServerError },
		time.Minute, 20*time.Millisecond, "unhealthy while the audit file fails")

	require.NoError(t, os.Remove(dir))
	require.Eventually(t, func() bool { return httpStatus(url) == http.StatusOK },
		time.Minute, 20*time.Millisecond, "healthy again once it is written")
	select {
	case code := <-posted:
		assert.Equal(t, http.StatusOK, code)
	case <-time.After(time.Minute):
		t.Fatal("the held request never finished")
	}
	lines := fliptcapture.Lines(t, "audit.log")
	assert.Equal(t, string(lines[0])+"\n", readFile(t, path), "Flipt sent it again, so it is written again")
}
