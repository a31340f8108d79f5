package examples

import (
	"context"
	"crypto/tls"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configgrpc"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/otelcol-flipt/otelcol-flipt/internal/e2etest"
	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
)

// backend is a real OTLP receiver built from its factory, standing in for a
// trace or log backend; what it accepts lands in the sinks.
type backend struct {
	traces consumertest.TracesSink
	logs   consumertest.LogsSink
}

// startBackend listens on addr with OTLP/gRPC (grpc true) or OTLP/HTTP.
func startBackend(t *testing.T, addr string, grpc bool) *backend {
	t.Helper()
	b := &backend{}
	f := otlpreceiver.NewFactory()
	cfg := f.CreateDefaultConfig().(*otlpreceiver.Config)
	if grpc {
		cfg.Protocols.GRPC.GetOrInsertDefault().NetAddr.Endpoint = addr
	} else {
		cfg.Protocols.GRPC = configoptional.None[configgrpc.ServerConfig]()
		cfg.Protocols.HTTP.GetOrInsertDefault().ServerConfig.NetAddr.Endpoint = addr
	}
	set := receivertest.NewNopSettings(f.Type())
	tr, err := f.CreateTraces(context.Background(), set, cfg, &b.traces)
	require.NoError(t, err)
	lr, err := f.CreateLogs(context.Background(), set, cfg, &b.logs)
	require.NoError(t, err)
	// One shared receiver behind both: started and shut down once for each.
	for _, r := range []component.Component{tr, lr} {
		require.NoError(t, r.Start(context.Background(), componenttest.NewNopHost()))
		t.Cleanup(func() { require.NoError(t, r.Shutdown(context.Background())) })
	}
	return b
}

// listeners gives every listener of the default pipeline (and the examples,
// which use the same variables) a free loopback port, and the audit file a
// path in dir. It returns the environment and the health and webhook addresses.
func listeners(t *testing.T, dir string) (env []string, health, webhook, otlpHTTP string) {
	health, webhook, otlpHTTP = e2etest.FreeAddr(t), e2etest.FreeAddr(t), e2etest.FreeAddr(t)
	env = []string{
		"OTELCOL_FLIPT_HEALTH_ENDPOINT=" + health,
		"OTELCOL_FLIPT_WEBHOOK_ENDPOINT=" + webhook,
		"OTELCOL_FLIPT_OTLP_HTTP_ENDPOINT=" + otlpHTTP,
		"OTELCOL_FLIPT_OTLP_GRPC_ENDPOINT=" + e2etest.FreeAddr(t),
		"OTELCOL_FLIPT_PROMETHEUS_ENDPOINT=" + e2etest.FreeAddr(t),
		"OTELCOL_FLIPT_TELEMETRY_HOST=127.0.0.1",
		"OTELCOL_FLIPT_TELEMETRY_PORT=" + strings.TrimPrefix(e2etest.FreeAddr(t), "127.0.0.1:"),
		"OTELCOL_FLIPT_AUDIT_FILE=" + filepath.Join(dir, "flipt-audit.log"),
	}
	return env, health, webhook, otlpHTTP
}

func repoFile(t *testing.T, rel string) string {
	t.Helper()
	return filepath.Join(e2etest.RepoRoot(), rel)
}

// postTraces sends Flipt's captured OTLP/HTTP exports; each must be answered 200.
func postTraces(t *testing.T, otlpHTTP string) {
	t.Helper()
	for i, body := range fliptcapture.TraceBodies(t) {
		r := e2etest.Post(t, "http://"+otlpHTTP+"/v1/traces", "application/x-protobuf", body)
		require.Equal(t, http.StatusOK, r.Status, "export %d: %s", i+1, r.Body)
	}
}

const capturedSpans = 616 // spans in Flipt's eight captured exports

// traces-backend.yaml over the embedded default, and the gateway example:
// Flipt's traces reach the backend, all of them once, and the audit file
// still gets Flipt's audit.log once.
func TestTracesBackendForwardsTraces(t *testing.T) {
	for name, args := range map[string][]string{
		"traces-backend.yaml": {"--config", "flipt:default", "--config", repoFile(t, "packaging/traces-backend.yaml")},
		"gateway.yaml":        {"--config", filepath.Join(mustAbs(t, "."), "gateway.yaml")},
	} {
		t.Run(name, func(t *testing.T) {
			backendAddr := e2etest.FreeAddr(t)
			b := startBackend(t, backendAddr, true)
			dir := t.TempDir()
			env, health, _, otlpHTTP := listeners(t, dir)
			col := e2etest.Start(t, e2etest.Options{
				Args: args,
				Env:  append(env, "OTELCOL_FLIPT_TRACES_ENDPOINT="+backendAddr, "OTELCOL_FLIPT_TRACES_INSECURE=true"),
				Dir:  dir,
			})
			col.WaitHealthy("http://" + health)
			postTraces(t, otlpHTTP)

			require.Eventually(t, func() bool { return b.traces.SpanCount() == capturedSpans }, time.Minute, 50*time.Millisecond,
				"the backend got %d of %d spans", b.traces.SpanCount(), capturedSpans)
			audit := filepath.Join(dir, "flipt-audit.log")
			want := string(fliptcapture.AuditLog(t))
			require.Eventually(t, func() bool { return e2etest.ReadFile(t, audit) == want }, time.Minute, 50*time.Millisecond)
			col.Stop()
			assert.Equal(t, capturedSpans, b.traces.SpanCount(), "a span reached the backend twice")
			assert.Equal(t, want, e2etest.ReadFile(t, audit))
		})
	}
}

// A backend that is not there holds up neither Flipt nor the audit file: every
// export is answered 200 and the audit trail is complete.
func TestTracesBackendAbsentIsBestEffort(t *testing.T) {
	dir := t.TempDir()
	env, health, _, otlpHTTP := listeners(t, dir)
	col := e2etest.Start(t, e2etest.Options{
		Args: []string{"--config", "flipt:default", "--config", repoFile(t, "packaging/traces-backend.yaml")},
		Env:  append(env, "OTELCOL_FLIPT_TRACES_ENDPOINT="+e2etest.FreeAddr(t), "OTELCOL_FLIPT_TRACES_INSECURE=true"), // nothing listens
		Dir:  dir,
	})
	col.WaitHealthy("http://" + health)
	postTraces(t, otlpHTTP)
	audit := filepath.Join(dir, "flipt-audit.log")
	want := string(fliptcapture.AuditLog(t))
	require.Eventually(t, func() bool { return e2etest.ReadFile(t, audit) == want }, time.Minute, 50*time.Millisecond)
}

// Loaded without an endpoint, traces-backend.yaml is refused naming the
// exporter and the field; without the file, nothing of it is configured.
func TestTracesBackendNeedsItsEndpoint(t *testing.T) {
	out, err := validate(t, repoFile(t, "packaging/traces-backend.yaml"))
	require.Error(t, err)
	assert.Contains(t, out, "otlp/traces_backend")
	assert.Contains(t, out, `"endpoint"`)

	for _, args := range [][]string{
		{"print-config", "--config", "flipt:default", "--config", repoFile(t, "packaging/traces-backend.yaml")},
		{"print-config"},
	} {
		out, err := run(t, args, "OTELCOL_FLIPT_TRACES_ENDPOINT=")
		if len(args) > 1 {
			require.Error(t, err, "an empty endpoint was accepted:\n%s", out)
			continue
		}
		require.NoError(t, err, string(out))
		assert.NotContains(t, string(out), "traces_backend", "the default pipeline forwards traces without traces-backend.yaml")
	}
}

// webhook-tls-basicauth.yaml: Flipt's signed request over TLS with the
// user:password of its url is written; without the password, with a wrong
// one, or over plain HTTP it is not.
func TestWebhookTLSBasicAuthExample(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool := e2etest.SelfSignedCert(t, dir)
	env, health, webhook, _ := listeners(t, dir)
	env = append(env,
		"OTELCOL_FLIPT_WEBHOOK_PASSWORD=pa55word",
		"OTELCOL_FLIPT_WEBHOOK_SECRET="+fliptcapture.Secret,
		"OTELCOL_FLIPT_TLS_CERT_FILE="+certFile,
		"OTELCOL_FLIPT_TLS_KEY_FILE="+keyFile)
	col := e2etest.Start(t, e2etest.Options{
		Args: []string{"--config", filepath.Join(mustAbs(t, "."), "webhook-tls-basicauth.yaml")},
		Env:  env,
		Dir:  dir,
	})
	col.WaitHealthy("http://" + health)
	assert.NotContains(t, col.Output(), "pa55word", "the password is in the collector's output")

	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	first := fliptcapture.WebhookRequests(t, false)[0]
	post := func(url, user, pass string) (int, error) {
		req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(string(first.Body)))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Flipt-Webhook-Signature", first.Header("X-Flipt-Webhook-Signature"))
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	url := "https://" + webhook + "/flipt/audit"
	code, err := post(url, "", "")
	require.NoError(t, err)
	assert.Equal(t, http.StatusUnauthorized, code, "no basic auth")
	code, err = post(url, "flipt", "wrong")
	require.NoError(t, err)
	assert.Equal(t, http.StatusUnauthorized, code, "wrong password")
	code, err = post("http://"+webhook+"/flipt/audit", "flipt", "pa55word")
	if err == nil {
		assert.NotEqual(t, http.StatusOK, code, "plain HTTP accepted")
	}
	audit := filepath.Join(dir, "flipt-audit.log")
	assert.Empty(t, e2etest.ReadFile(t, audit), "a refused request was written")

	code, err = post(url, "flipt", "pa55word")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, code)
	// The 200 comes after the fsync: the file holds Flipt's own line now.
	assert.Equal(t, strings.SplitAfter(string(fliptcapture.AuditLog(t)), "\n")[0], e2etest.ReadFile(t, audit))
}

// audit-to-otlp-logs.yaml: events accepted while the log backend is away are
// kept in the persistent queue across a restart and delivered once it is back.
func TestAuditToOTLPLogsPersistentQueue(t *testing.T) {
	dir := t.TempDir()
	backendAddr := e2etest.FreeAddr(t)
	env, health, webhook, _ := listeners(t, dir)
	env = append(env,
		"OTELCOL_FLIPT_LOGS_ENDPOINT=http://"+backendAddr,
		"OTELCOL_FLIPT_WEBHOOK_SECRET="+fliptcapture.Secret,
		"OTELCOL_FLIPT_QUEUE_DIR="+filepath.Join(dir, "queue"))
	opts := e2etest.Options{Args: []string{"--config", filepath.Join(mustAbs(t, "."), "audit-to-otlp-logs.yaml")}, Env: env, Dir: dir}

	col := e2etest.Start(t, opts)
	col.WaitHealthy("http://" + health)
	reqs := fliptcapture.WebhookRequests(t, false)[:5]
	for _, r := range reqs {
		resp := e2etest.Post(t, "http://"+webhook+"/flipt/audit", "application/json", r.Body,
			"X-Flipt-Webhook-Signature", r.Header("X-Flipt-Webhook-Signature"))
		require.Equal(t, http.StatusOK, resp.Status, resp.Body)
	}
	col.Stop()
	require.True(t, col.Exited())

	b := startBackend(t, backendAddr, false)
	col = e2etest.Start(t, opts)
	col.WaitHealthy("http://" + health)
	require.Eventually(t, func() bool { return b.logs.LogRecordCount() == len(reqs) }, time.Minute, 50*time.Millisecond,
		"the backend got %d of %d events", b.logs.LogRecordCount(), len(reqs))
	col.Stop()
	assert.Equal(t, len(reqs), b.logs.LogRecordCount(), "an event reached the backend twice")
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	abs, err := filepath.Abs(p)
	require.NoError(t, err)
	return abs
}
