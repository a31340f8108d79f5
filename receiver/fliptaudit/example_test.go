package fliptaudit

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/otelcol"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/memorylimiterprocessor"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/service/telemetry/otelconftelemetry"

	"github.com/otelcol-flipt/otelcol-flipt/exporter/auditfile"
	"github.com/otelcol-flipt/otelcol-flipt/internal/auditevent"
	"github.com/otelcol-flipt/otelcol-flipt/internal/e2etest"
	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
)

// readmeExample is the first YAML block of the README's Example section.
func readmeExample(t *testing.T) []byte {
	t.Helper()
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)\n## Example\n.*?```yaml\n(.*?)```").FindSubmatch(readme)
	if m == nil {
		t.Fatal("README has no example")
	}
	return m[1]
}

// The README's example runs in a real collector built from the factories,
// with only its addresses and file paths moved: Flipt's captured webhook
// requests and trace exports come out as Flipt's own audit.log lines.
func TestREADMEExample(t *testing.T) {
	dir := t.TempDir()
	webhook, otlp := e2etest.FreeAddr(t), e2etest.FreeAddr(t)
	webhookLog, spansLog := filepath.Join(dir, "webhook.log"), filepath.Join(dir, "spans.log")
	override := "receivers:\n" +
		"  flipt_audit: {webhook: {endpoint: " + webhook + "}}\n" +
		"  otlp: {protocols: {http: {endpoint: " + otlp + "}}}\n" +
		"exporters:\n" +
		"  audit_file/webhook: {path: " + webhookLog + "}\n" +
		"  audit_file/spans: {path: " + spansLog + "}\n" +
		"service: {telemetry: {metrics: {level: none}, logs: {level: warn}}}\n"
	example := filepath.Join(dir, "example.yaml")
	overrides := filepath.Join(dir, "override.yaml")
	if err := os.WriteFile(example, readmeExample(t), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(overrides, []byte(override), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("FLIPT_AUDIT_WEBHOOK_SECRET", fliptcapture.Secret)

	col, err := otelcol.NewCollector(otelcol.CollectorSettings{
		BuildInfo: component.NewDefaultBuildInfo(),
		Factories: func() (otelcol.Factories, error) {
			f := otelcol.Factories{Telemetry: otelconftelemetry.NewFactory()}
			var err error
			if f.Receivers, err = otelcol.MakeFactoryMap[receiver.Factory](NewFactory(), otlpreceiver.NewFactory()); err != nil {
				return f, err
			}
			if f.Connectors, err = otelcol.MakeFactoryMap[connector.Factory](NewConnectorFactory()); err != nil {
				return f, err
			}
			if f.Processors, err = otelcol.MakeFactoryMap[processor.Factory](memorylimiterprocessor.NewFactory()); err != nil {
				return f, err
			}
			f.Exporters, err = otelcol.MakeFactoryMap[exporter.Factory](auditfile.NewFactory())
			return f, err
		},
		ConfigProviderSettings: otelcol.ConfigProviderSettings{ResolverSettings: confmap.ResolverSettings{
			URIs:              []string{"file:" + example, "file:" + overrides},
			ProviderFactories: []confmap.ProviderFactory{fileprovider.NewFactory(), envprovider.NewFactory()},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- col.Run(context.Background()) }()
	t.Cleanup(func() {
		col.Shutdown()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	waitFor(t, "the collector to run", func() bool {
		select {
		case err := <-done:
			t.Fatalf("collector stopped: %v", err)
		default:
		}
		return col.GetState() == otelcol.StateRunning
	})

	var want bytes.Buffer
	for _, r := range fliptcapture.WebhookRequests(t, false) {
		if resp := postCaptured(t, "http://"+webhook+defaultPath, r); resp.status != 200 {
			t.Fatalf("webhook request %d: %d %s", r.Seq, resp.status, resp.body)
		}
		lr := plog.NewLogRecord()
		if err := auditevent.DecodeRecord(r.Body, lr, auditevent.SourceWebhook, 0); err != nil {
			t.Fatal(err)
		}
		body, _ := auditevent.Body(lr)
		want.Write(append(auditevent.Append(nil, body, auditevent.FormatJSON), '\n'))
	}
	for i, body := range fliptcapture.TraceBodies(t) {
		if resp := post(t, "http://"+otlp+"/v1/traces", "application/x-protobuf", body); resp.status != 200 {
			t.Fatalf("OTLP body %d: %d %s", i, resp.status, resp.body)
		}
	}
	auditLog := string(fliptcapture.AuditLog(t))
	waitFor(t, "both files", func() bool {
		w, _ := os.ReadFile(webhookLog)
		s, _ := os.ReadFile(spansLog)
		return string(w) == want.String() && string(s) == auditLog
	})
}
