package fliptaudit

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configtls"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-flipt/otelcol-flipt/internal/e2etest"
	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
)

// A consumer that never returns: the watchdog's 503 is whole on the wire
// (the client reads its body to the end) while the consumer still runs,
// and asks the sender not to reuse the connection.
func TestWatchdogAnswerIsWholeWhileTheConsumerRuns(t *testing.T) {
	next := &ignoringConsumer{release: make(chan struct{})}
	defer close(next.release)
	rcv := startReceiver(t, next, func(w *WebhookConfig) {
		w.WriteTimeout = 3 * time.Second
		w.HoldTimeout = time.Second
	})
	req, err := http.NewRequest(http.MethodPost, rcv.url, strings.NewReader(string(fliptcapture.WebhookRequests(t, false)[0].Body)))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body) // returns only once the answer is whole
	require.NoError(t, err)
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "%s", body)
	require.NotEmpty(t, resp.Header.Get("Retry-After"))
	require.Equal(t, int64(len(body)), resp.ContentLength)
	require.True(t, resp.Close, "the answer keeps the connection open")
	require.Contains(t, string(body), "hold_timeout")
	// Counted once the answer is out, which the client may see first.
	in := rcv.handler.inflight
	require.Eventually(t, func() bool {
		in.mu.Lock()
		defer in.mu.Unlock()
		return in.running == 1 && in.orphans == 1
	}, 30*time.Second, 10*time.Millisecond, "the request's handler still waits on its consumer, its answer given")
	require.Equal(t, int64(1), counter(t, rcv.tel, metricRefused, "reason", reasonTimeout))
}

// Consumers that never return keep their admission slots: with 2 slots,
// 2 such requests are answered 503 by their watchdogs and a third is
// refused as busy, instead of piling more work onto the stuck consumer.
// Once it returns, the slots are free again.
func TestStuckConsumersKeepTheirSlots(t *testing.T) {
	sink := new(consumertest.LogsSink)
	next := &ignoringConsumer{release: make(chan struct{})}
	released := make(chan struct{})
	rcv := startReceiver(t, consumerFunc(func(ctx context.Context, ld plog.Logs) error {
		select {
		case <-released:
		default:
			_ = next.ConsumeLogs(ctx, ld)
		}
		return sink.ConsumeLogs(ctx, ld)
	}), func(w *WebhookConfig) {
		w.WriteTimeout = 3 * time.Second
		w.HoldTimeout = time.Second
		w.MaxConcurrentRequests = 2
		w.AdmissionWait = 10 * time.Millisecond
	})
	body := fliptcapture.WebhookRequests(t, false)[0].Body
	answers := make(chan response, 2)
	for range 2 {
		go func() { answers <- post(t, rcv.url, "application/json", body) }()
	}
	for range 2 {
		a := <-answers
		require.Equal(t, http.StatusServiceUnavailable, a.status, a.body)
	}
	third := post(t, rcv.url, "application/json", body)
	require.Equal(t, http.StatusServiceUnavailable, third.status, third.body)
	require.Equal(t, int64(1), counter(t, rcv.tel, metricRefused, "reason", reasonBusy), "the third request's reason")

	close(released)
	close(next.release) // the two stuck calls return and give their slots back
	require.Eventually(t, func() bool { return sink.LogRecordCount() == 2 }, 30*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool {
		return post(t, rcv.url, "application/json", body).status == http.StatusOK
	}, 30*time.Second, 10*time.Millisecond, "a request once the slots are free")
}

// At Shutdown a request whose consumer ignores its context is answered 503
// (reason shutdown) grace after the drain, and Shutdown returns although
// the consumer still runs.
func TestShutdownAnswersAndLeavesAStuckConsumer(t *testing.T) {
	next := &ignoringConsumer{release: make(chan struct{})}
	defer close(next.release)
	rcv := startReceiverNoCleanupShutdown(t, next, func(w *WebhookConfig) {
		w.HoldTimeout = 59 * time.Minute
		w.WriteTimeout = 59*time.Minute + 2*time.Second // grace: 1s
	})
	answer := make(chan response, 1)
	go func() { answer <- post(t, rcv.url, "application/json", fliptcapture.WebhookRequests(t, false)[0].Body) }()
	require.Eventually(t, func() bool { return counter(t, rcv.tel, metricReceived, "", "") == 1 }, 30*time.Second, 10*time.Millisecond, "the request to be held")
	require.NoError(t, rcv.Shutdown(context.Background()))
	a := <-answer
	require.Equal(t, http.StatusServiceUnavailable, a.status, a.body)
	require.NotEmpty(t, a.header.Get("Retry-After"))
	require.Equal(t, int64(1), counter(t, rcv.tel, metricRefused, "reason", reasonShutdown))
}

// Over HTTP/2 (TLS) a stream ends only when its handler returns, so the
// consumer runs on a hand-off and the handler answers: 200 once accepted,
// 503 with Retry-After grace after the hold for a consumer that never
// returns.
func TestHTTP2HandsOff(t *testing.T) {
	certFile, keyFile, pool := e2etest.SelfSignedCert(t, t.TempDir())
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, ForceAttemptHTTP2: true,
	}}
	defer client.CloseIdleConnections()
	withTLS := func(w *WebhookConfig) {
		w.WriteTimeout = 3 * time.Second
		w.HoldTimeout = time.Second
		w.TLS.GetOrInsertDefault().Config = configtls.Config{CertFile: certFile, KeyFile: keyFile}
	}
	send := func(url string) (*http.Response, string) {
		req, err := http.NewRequest(http.MethodPost, strings.Replace(url, "http://", "https://", 1),
			strings.NewReader(string(fliptcapture.WebhookRequests(t, false)[0].Body)))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp, string(b)
	}

	sink := new(consumertest.LogsSink)
	ok := startReceiver(t, sink, withTLS)
	resp, body := send(ok.url)
	require.Equal(t, 2, resp.ProtoMajor, "not HTTP/2")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	require.Equal(t, 1, sink.LogRecordCount())

	stuck := &ignoringConsumer{release: make(chan struct{})}
	defer close(stuck.release)
	held := startReceiver(t, stuck, withTLS)
	resp, body = send(held.url)
	require.Equal(t, 2, resp.ProtoMajor)
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, body)
	require.NotEmpty(t, resp.Header.Get("Retry-After"))
	require.Equal(t, int64(1), counter(t, held.tel, metricRefused, "reason", reasonTimeout))
}

// The watchdogs' checker runs only while some are armed: an idle webhook
// has no goroutine waking up for it.
func TestWatchdogCheckerStopsWhenIdle(t *testing.T) {
	sink := new(consumertest.LogsSink)
	rcv := startReceiver(t, sink, nil)
	body := fliptcapture.WebhookRequests(t, false)[0].Body
	for range 3 {
		require.Equal(t, http.StatusOK, post(t, rcv.url, "application/json", body).status)
	}
	in := rcv.handler.inflight
	require.Eventually(t, func() bool {
		in.mu.Lock()
		defer in.mu.Unlock()
		return !in.checking && in.armed == nil && in.running == 0
	}, 30*time.Second, 10*time.Millisecond, "the checker to stop")
	require.Equal(t, http.StatusOK, post(t, rcv.url, "application/json", body).status, "a request after it stopped")
	require.Equal(t, 4, sink.LogRecordCount())
}
