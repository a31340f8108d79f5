package cachemetrics

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/prometheusexporter"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/otelcol"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/service/telemetry/otelconftelemetry"

	"github.com/otelcol-flipt/otelcol-flipt/internal/e2etest"
	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
	"github.com/otelcol-flipt/otelcol-flipt/internal/promtest"
)

// refuser is the other branch of the fan-out, standing in for the audit
// side when it fails: it refuses every export the first `times` it sees it.
type refuser struct {
	times int
	mu    sync.Mutex
	seen  map[string]int
}

func (r *refuser) push(_ context.Context, td ptrace.Traces) error {
	body, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(td)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen[string(body)]++
	if r.seen[string(body)] <= r.times {
		return fmt.Errorf("refused (attempt %d)", r.seen[string(body)])
	}
	return nil
}

func (r *refuser) factory() exporter.Factory {
	return exporter.NewFactory(component.MustNewType("refuse"),
		func() component.Config { return &struct{}{} },
		exporter.WithTraces(func(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Traces, error) {
			return exporterhelper.NewTraces(ctx, set, cfg, r.push) // no queue, no retry: errors go back
		}, component.StabilityLevelDevelopment))
}

// startPipeline runs a real collector built from factories: OTLP/HTTP traces
// fanned out to cache_metrics and to the refuser, cache_metrics' metrics to
// the prometheus exporter. It returns the OTLP and /metrics URLs.
func startPipeline(t *testing.T, r *refuser, window string) (string, string) {
	t.Helper()
	otlp, prom := e2etest.FreeAddr(t), e2etest.FreeAddr(t)
	cfg := `
receivers:
  otlp:
    protocols:
      http: {endpoint: "` + otlp + `"}
connectors:
  cache_metrics:
    preset: flipt
    flush_interval: 50ms
    inference: {wait: 200ms}
    dedup: {window: ` + window + `}
exporters:
  refuse: {}
  prometheus: {endpoint: "` + prom + `"}
service:
  telemetry: {metrics: {level: none}, logs: {level: error, disable_stacktrace: true}}
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [cache_metrics, refuse]
    metrics:
      receivers: [cache_metrics]
      exporters: [prometheus]
`
	path := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(path, []byte(cfg), 0o600))
	col, err := otelcol.NewCollector(otelcol.CollectorSettings{
		BuildInfo: component.NewDefaultBuildInfo(),
		Factories: func() (otelcol.Factories, error) {
			f := otelcol.Factories{Telemetry: otelconftelemetry.NewFactory()}
			var err error
			if f.Receivers, err = otelcol.MakeFactoryMap[receiver.Factory](otlpreceiver.NewFactory()); err != nil {
				return f, err
			}
			if f.Connectors, err = otelcol.MakeFactoryMap[connector.Factory](NewFactory()); err != nil {
				return f, err
			}
			f.Exporters, err = otelcol.MakeFactoryMap[exporter.Factory](prometheusexporter.NewFactory(), r.factory())
			return f, err
		},
		ConfigProviderSettings: otelcol.ConfigProviderSettings{ResolverSettings: confmap.ResolverSettings{
			URIs:              []string{"file:" + path},
			ProviderFactories: []confmap.ProviderFactory{fileprovider.NewFactory()},
		}},
	})
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- col.Run(context.Background()) }()
	t.Cleanup(func() {
		col.Shutdown()
		assert.NoError(t, <-done)
	})
	require.Eventually(t, func() bool { return col.GetState() == otelcol.StateRunning }, 30*time.Second, 10*time.Millisecond)
	return "http://" + otlp + "/v1/traces", "http://" + prom + "/metrics"
}

// sendUntilAccepted posts an export and re-sends it on every refusal, as
// Flipt's exporter does; it returns the number of attempts.
func sendUntilAccepted(t *testing.T, url string, body []byte) int {
	t.Helper()
	for attempt := 1; attempt <= 10; attempt++ {
		resp := e2etest.Post(t, url, "application/x-protobuf", body)
		if resp.Status == http.StatusOK {
			return attempt
		}
		// A refusal the sender may retry, not a rejection of the data.
		require.Equal(t, http.StatusServiceUnavailable, resp.Status, resp.Body)
	}
	t.Fatal("export still refused after 10 attempts")
	return 0
}

// The fault this guards against: the other branch refuses, the sender
// re-sends, and every attempt reached cache_metrics. Each export is refused
// twice and accepted the third time; the scrape shows every lookup once.
func TestFanoutWithRefusalsCountsOnce(t *testing.T) {
	bodies := fliptcapture.TraceBodies(t)
	attr, err := ptraceotlp.NewExportRequestFromTraces(attributeExport()).MarshalProto()
	require.NoError(t, err)
	bodies = append(bodies, attr)

	series := func(metric, cache, typ string) string {
		return metric + `{cache="` + cache + `",job="flipt",` + ourScope + `,type="` + typ + `"} `
	}
	once := map[string]int{
		series("flipt_cache_hit_total", "memory", "evaluation"):   35,
		series("flipt_cache_miss_total", "memory", "evaluation"):  7,
		series("flipt_cache_hit_total", "memory", "flag"):         2,
		series("flipt_cache_hit_total", "redis", "flag"):          1,
		series("flipt_cache_miss_total", "redis", "flag"):         1,
		series("flipt_cache_hit_total", "redis", "rules"):         1,
		series("flipt_cache_miss_total", "redis", "rules"):        1,
		series("flipt_cache_error_total", "memory", "evaluation"): 0,
	}
	for _, tc := range []struct {
		name, window string
		factor       int // how often each lookup shows
	}{
		{"dedup", "5m", 1},
		{"dedup off", "0s", 3}, // the fault, so the check above can fail
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &refuser{times: 2, seen: map[string]int{}}
			otlp, metrics := startPipeline(t, r, tc.window)
			for i, body := range bodies {
				assert.Equal(t, 3, sendUntilAccepted(t, otlp, body), "export %d", i)
			}
			want := make([]string, 0, len(once))
			for s, n := range once {
				want = append(want, fmt.Sprintf("%s%d\n", s, n*tc.factor))
			}
			var body string
			ok := assert.Eventually(t, func() bool {
				body = promtest.Scrape(t, metrics)
				for _, line := range want {
					if !strings.Contains(body, line) {
						return false
					}
				}
				return true
			}, 30*time.Second, 50*time.Millisecond)
			if !ok {
				t.Logf("want lines %q\nscrape:\n%s", want, body)
			}
		})
	}
}
