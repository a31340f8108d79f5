package fliptaudit

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pipeline"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
)

// The receiver keeps the consume contract with random permanent and
// retryable downstream errors: the generator behaves like Flipt's retrying
// client (retry 429 and 5xx but 501, give up on other 4xx), and every event
// ends up accepted or dropped exactly once.
func TestConsumeContract(t *testing.T) {
	var current atomic.Pointer[auditReceiver]
	// The checker reads the unique id from a record attribute; the events
	// carry it in payload.key, and this thin adapter copies it over.
	base := NewFactory()
	factory := receiver.NewFactory(base.Type(), base.CreateDefaultConfig,
		receiver.WithLogs(func(ctx context.Context, set receiver.Settings, cfg component.Config, next consumer.Logs) (receiver.Logs, error) {
			r, err := base.CreateLogs(ctx, set, cfg, idAdapter{next})
			if err == nil {
				current.Store(r.(*auditReceiver))
			}
			return r, err
		}, base.LogsStability()))

	cfg := base.CreateDefaultConfig().(*Config)
	wh := cfg.Webhook.GetOrInsertDefault()
	wh.NetAddr.Endpoint = "127.0.0.1:0"
	wh.SigningSecret = fliptcapture.Secret

	receivertest.CheckConsumeContract(receivertest.CheckConsumeContractParams{
		T:             t,
		Factory:       factory,
		Signal:        pipeline.SignalLogs,
		Config:        cfg,
		Generator:     &fliptSender{t: t, receiver: &current},
		GenerateCount: 200,
	})
}

// idAdapter copies each event's payload.key into the checker's attribute.
type idAdapter struct{ next consumer.Logs }

func (a idAdapter) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: true}
}

func (a idAdapter) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	for _, rl := range ld.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				payload, _ := lr.Body().Map().Get("payload")
				key, _ := payload.Map().Get("key")
				lr.Attributes().PutStr(receivertest.UniqueIDAttrName, key.Str())
			}
		}
	}
	return a.next.ConsumeLogs(ctx, ld)
}

// fliptSender posts signed flag-created events, one per request, with the
// retry rules of Flipt's webhook client.
type fliptSender struct {
	t        *testing.T
	receiver *atomic.Pointer[auditReceiver]
	seq      atomic.Int64
	client   *http.Client
	once     sync.Once
}

func (g *fliptSender) Start() {
	g.once.Do(func() { g.client = &http.Client{Timeout: 10 * time.Second} })
}

func (g *fliptSender) Stop() {}

func (g *fliptSender) Generate() []receivertest.UniqueIDAttrVal {
	id := fmt.Sprintf("flag-%d", g.seq.Add(1))
	body := []byte(`{"version":"0.2","type":"flag","action":"created","metadata":{"actor":{"authentication":"token","ip":"127.0.0.1"}},` +
		`"payload":{"description":"","enabled":true,"key":"` + id + `","name":"` + id + `","namespace_key":"default","type":"VARIANT_FLAG_TYPE"},` +
		`"timestamp":"2026-11-24T20:53:42Z","status":"success"}`)
	url := "http://" + g.receiver.Load().addr.String() + defaultPath
	sig := fmt.Sprintf("%x", hmacSHA256([]byte(fliptcapture.Secret), body))
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			g.t.Error(err)
			return nil
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(signatureHeader, sig)
		resp, err := g.client.Do(req)
		if err != nil {
			g.t.Errorf("post: %v", err)
			return nil
		}
		resp.Body.Close()
		code := resp.StatusCode
		retry := code == http.StatusTooManyRequests || code >= 500 && code != http.StatusNotImplemented
		switch {
		case code == http.StatusOK, !retry && code == http.StatusBadRequest:
			return []receivertest.UniqueIDAttrVal{receivertest.UniqueIDAttrVal(id)}
		case !retry:
			g.t.Errorf("unexpected status %d", code)
			return nil
		case attempt > 1000:
			g.t.Error("still refused after 1000 attempts")
			return nil
		}
	}
}
