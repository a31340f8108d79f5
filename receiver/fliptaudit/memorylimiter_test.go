package fliptaudit

import (
	"context"
	"net/http"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/processor/memorylimiterprocessor"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
)

// A real memory_limiter that refuses everything (1 MiB limit) makes the
// webhook answer 429 with Retry-After, which Flipt retries later.
func TestWebhookBehindRefusingMemoryLimiter(t *testing.T) {
	f := memorylimiterprocessor.NewFactory()
	cfg := f.CreateDefaultConfig().(*memorylimiterprocessor.Config)
	cfg.CheckInterval = time.Millisecond
	cfg.MemoryLimitMiB = 1
	sink := new(consumertest.LogsSink)
	limiter, err := f.CreateLogs(context.Background(), processortest.NewNopSettings(f.Type()), cfg, sink)
	if err != nil {
		t.Fatal(err)
	}
	if err := limiter.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = limiter.Shutdown(context.Background()) })

	rcv := startReceiver(t, limiter, withSecret)
	r := fliptcapture.WebhookRequests(t, false)[0]
	var resp response
	// The limiter refuses from its first memory check on.
	waitFor(t, "the memory_limiter to refuse", func() bool {
		resp = postCaptured(t, rcv.url, r)
		return resp.status != http.StatusOK
	})
	if resp.status != http.StatusTooManyRequests || resp.header.Get("Retry-After") == "" {
		t.Fatalf("%d (Retry-After %q) %s", resp.status, resp.header.Get("Retry-After"), resp.body)
	}
}
