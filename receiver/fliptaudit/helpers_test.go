package fliptaudit

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/otelcol-flipt/otelcol-flipt/internal/auditevent"
	"github.com/otelcol-flipt/otelcol-flipt/receiver/fliptaudit/internal/metadatatest"
)

// testReceiver is a started flipt_audit receiver with its telemetry.
type testReceiver struct {
	*auditReceiver
	tel *componenttest.Telemetry
	url string // the webhook events URL
}

// startReceiver starts a receiver from the real factory with the webhook on
// a free loopback port; edit may change the webhook section first.
func startReceiver(t *testing.T, next consumer.Logs, edit func(*WebhookConfig)) *testReceiver {
	t.Helper()
	r := startReceiverNoCleanupShutdown(t, next, edit)
	t.Cleanup(func() {
		if err := r.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return r
}

// startReceiverNoCleanupShutdown is startReceiver for tests that shut the
// receiver down themselves.
func startReceiverNoCleanupShutdown(t *testing.T, next consumer.Logs, edit func(*WebhookConfig)) *testReceiver {
	t.Helper()
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	wh := cfg.Webhook.GetOrInsertDefault()
	wh.NetAddr.Endpoint = "127.0.0.1:0"
	if edit != nil {
		edit(wh)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	rcv, err := NewFactory().CreateLogs(context.Background(), metadatatest.NewSettings(tel), cfg, next)
	if err != nil {
		t.Fatal(err)
	}
	if err := rcv.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	r := rcv.(*auditReceiver)
	return &testReceiver{auditReceiver: r, tel: tel, url: "http://" + r.addr.String() + wh.Path}
}

type response struct {
	status int
	header http.Header
	body   string
}

// freeAddr is a loopback address that was free a moment ago, for
// components whose bound address cannot be read back.

// startTracesReceiver starts a traces receiver from its factory in front of
// next, stopped at cleanup.
func startTracesReceiver(t *testing.T, f receiver.Factory, cfg component.Config, next consumer.Traces) {
	t.Helper()
	rcv, err := f.CreateTraces(context.Background(), receivertest.NewNopSettings(f.Type()), cfg, next)
	if err != nil {
		t.Fatal(err)
	}
	if err := rcv.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rcv.Shutdown(context.Background()) })
}

// post sends body with the given content type and header pairs.
func post(t testing.TB, url, contentType string, body []byte, headers ...string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return do(t, req)
}

func do(t testing.TB, req *http.Request) response {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// counter sums the data points of an int counter whose attribute key has
// value val (any point when key is "").
func counter(t *testing.T, tel *componenttest.Telemetry, name, key, val string) int64 {
	t.Helper()
	m, err := tel.GetMetric(name)
	if err != nil {
		return 0 // never recorded
	}
	sum, ok := m.Data.(metricdata.Sum[int64])
	if !ok {
		t.Fatalf("%s is %T", name, m.Data)
	}
	var n int64
	for _, dp := range sum.DataPoints {
		if v, ok := dp.Attributes.Value(attribute.Key(key)); key == "" || ok && v.AsString() == val {
			n += dp.Value
		}
	}
	return n
}

// records flattens every log record the sink received, in order.
func records(sink *consumertest.LogsSink) []plog.LogRecord {
	var out []plog.LogRecord
	for _, ld := range sink.AllLogs() {
		for _, rl := range ld.ResourceLogs().All() {
			for _, sl := range rl.ScopeLogs().All() {
				for _, lr := range sl.LogRecords().All() {
					out = append(out, lr)
				}
			}
		}
	}
	return out
}

// encode writes a record in Flipt's json log-file encoding.
func encode(t *testing.T, lr plog.LogRecord, f auditevent.Format) string {
	t.Helper()
	body, ok := auditevent.Body(lr)
	if !ok {
		t.Fatalf("not an audit record: %v", lr.Body().AsRaw())
	}
	return string(auditevent.Append(nil, body, f))
}
