package fliptaudit

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
	"github.com/otelcol-flipt/otelcol-flipt/receiver/fliptaudit/internal/metadata"
)

// The receiver logs once at start, where it listens, and nothing per
// request, accepted or refused; the secret never appears.
func TestWebhookLogging(t *testing.T) {
	for _, secret := range []string{fliptcapture.Secret, ""} {
		core, logs := observer.New(zapcore.DebugLevel)
		set := receivertest.NewNopSettings(metadata.Type)
		set.Logger = zap.New(core)
		cfg := NewFactory().CreateDefaultConfig().(*Config)
		wh := cfg.Webhook.GetOrInsertDefault()
		wh.NetAddr.Endpoint = "127.0.0.1:0"
		wh.SigningSecret = configopaque.String(secret)
		rcv, err := NewFactory().CreateLogs(context.Background(), set, cfg, consumertest.NewNop())
		if err != nil {
			t.Fatal(err)
		}
		if err := rcv.Start(context.Background(), componenttest.NewNopHost()); err != nil {
			t.Fatal(err)
		}
		url := "http://" + rcv.(*auditReceiver).addr.String() + defaultPath
		for _, r := range fliptcapture.WebhookRequests(t, false)[:5] {
			post(t, url, "application/json", r.Body, signatureHeader, r.Header(signatureHeader))
			post(t, url, "application/json", r.Body, signatureHeader, "00")
			post(t, url, "application/json", []byte("{"))
		}
		if err := rcv.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}

		var listening, warned int
		for _, e := range logs.All() {
			if e.Message == "Flipt audit webhook listening" {
				listening++
				if f := e.ContextMap(); f["endpoint"] != rcv.(*auditReceiver).addr.String() || f["path"] != defaultPath {
					t.Errorf("start log fields %v", f)
				}
			}
			if e.Level == zapcore.WarnLevel && strings.Contains(e.Message, "signing_secret") {
				warned++
			}
			if secret != "" && strings.Contains(fmt.Sprint(e.Message, e.ContextMap()), secret) {
				t.Errorf("secret logged: %v", e)
			}
		}
		if listening != 1 || logs.Len() != 1+warned {
			t.Errorf("secret %v: %d log entries, %d listening: %v", secret != "", logs.Len(), listening, logs.All())
		}
		if wantWarn := secret == ""; (warned == 1) != wantWarn {
			t.Errorf("secret %v: %d warnings about signing_secret", secret != "", warned)
		}
	}
}
