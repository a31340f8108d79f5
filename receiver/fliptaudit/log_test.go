package fliptaudit

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

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
// request, accepted or refused, except a rate-limited warning about
// refused signatures; the secret never appears.
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

		var listening, warned, sigWarned int
		for _, e := range logs.All() {
			if e.Level == zapcore.WarnLevel && strings.Contains(e.Message, "refused for a missing or invalid") {
				sigWarned++
				f := e.ContextMap()
				if len(f) != 3 || f["refusals"] != int64(1) || !strings.HasPrefix(fmt.Sprint(f["remote_address"]), "127.0.0.1:") {
					t.Errorf("signature warning fields %v", f)
				}
				continue
			}
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
		// Ten refused signatures within the interval: one warning, at the first.
		if wantSig := secret != ""; (sigWarned == 1) != wantSig || sigWarned > 1 {
			t.Errorf("secret %v: %d warnings about refused signatures", secret != "", sigWarned)
		}
		if listening != 1 || logs.Len() != 1+warned+sigWarned {
			t.Errorf("secret %v: %d log entries, %d listening: %v", secret != "", logs.Len(), listening, logs.All())
		}
		if wantWarn := secret == ""; (warned == 1) != wantWarn {
			t.Errorf("secret %v: %d warnings about signing_secret", secret != "", warned)
		}
	}
}

// Refused signatures are logged at most once an interval, each warning
// counting the refusals since the one before, with the remote address and
// nothing of the request.
func TestSignatureWarningIsRateLimited(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	w := &signatureWarner{logger: zap.New(core), now: func() time.Time { return now }}
	w.refused("192.0.2.1:1000")
	for range 99 {
		now = now.Add(time.Second / 2)
		w.refused("192.0.2.2:2000")
	}
	if logs.Len() != 1 {
		t.Fatalf("%d warnings in under a minute, want 1", logs.Len())
	}
	now = now.Add(11 * time.Second) // 60.5s after the first
	w.refused("192.0.2.3:3000")
	all := logs.All()
	if len(all) != 2 {
		t.Fatalf("%d warnings after the interval, want 2", len(all))
	}
	for i, want := range []struct {
		remote string
		n      int64
	}{{"192.0.2.1:1000", 1}, {"192.0.2.3:3000", 100}} {
		f := all[i].ContextMap()
		if f["remote_address"] != want.remote || f["refusals"] != want.n {
			t.Errorf("warning %d: %v, want %s and %d refusals", i, f, want.remote, want.n)
		}
	}
}

// End to end: a Flipt with the wrong secret gets 401 on every request and
// the collector says why, once, without the secret, signature or body.
func TestWrongSecretIsLoggedWithoutSecrets(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	set := receivertest.NewNopSettings(metadata.Type)
	set.Logger = zap.New(core)
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	wh := cfg.Webhook.GetOrInsertDefault()
	wh.NetAddr.Endpoint = "127.0.0.1:0"
	wh.SigningSecret = "not-" + fliptcapture.Secret
	rcv, err := NewFactory().CreateLogs(context.Background(), set, cfg, consumertest.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	if err := rcv.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rcv.Shutdown(context.Background()) }()
	url := "http://" + rcv.(*auditReceiver).addr.String() + defaultPath
	reqs := fliptcapture.WebhookRequests(t, false)
	for _, r := range reqs {
		if resp := postCaptured(t, url, r); resp.status != 401 {
			t.Fatalf("request %d: %d", r.Seq, resp.status)
		}
	}
	var warnings []observer.LoggedEntry
	for _, e := range logs.FilterLevelExact(zapcore.WarnLevel).All() {
		if strings.Contains(e.Message, signatureHeader) {
			warnings = append(warnings, e)
		}
	}
	if len(warnings) != 1 {
		t.Fatalf("%d warnings for %d refusals in under a minute: %v", len(warnings), len(reqs), warnings)
	}
	text := fmt.Sprint(warnings[0].Message, warnings[0].ContextMap())
	for _, secret := range []string{string(wh.SigningSecret), fliptcapture.Secret, reqs[0].Header(signatureHeader), string(reqs[0].Body[:20])} {
		if strings.Contains(text, secret) {
			t.Errorf("warning holds %q: %s", secret, text)
		}
	}
}
