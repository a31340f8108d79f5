package fliptaudit

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
)

// blockingConsumer blocks every call until its ctx ends, as an exporter
// retrying a full disk does, and counts the calls.
type blockingConsumer struct {
	calls   atomic.Int32
	started chan struct{} // one value per call
}

func newBlockingConsumer() *blockingConsumer {
	return &blockingConsumer{started: make(chan struct{}, 100)}
}

func (b *blockingConsumer) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (b *blockingConsumer) ConsumeLogs(ctx context.Context, _ plog.Logs) error {
	b.calls.Add(1)
	b.started <- struct{}{}
	<-ctx.Done()
	return ctx.Err()
}

// A request held by a consumer that never returns by itself is answered
// 503 with Retry-After when its hold ends, before the server's write
// deadline: the client gets an answer, never a broken connection.
func TestHoldEndsWith503BeforeWriteDeadline(t *testing.T) {
	next := newBlockingConsumer()
	rcv := startReceiver(t, next, func(w *WebhookConfig) {
		w.WriteTimeout = 3 * time.Second
		w.HoldTimeout = 1 * time.Second
	})
	r := fliptcapture.WebhookRequests(t, false)[0]
	resp := post(t, rcv.url, "application/json", r.Body) // post fails the test on a connection error
	if resp.status != http.StatusServiceUnavailable || resp.header.Get("Retry-After") == "" {
		t.Fatalf("held request: %d %v %q", resp.status, resp.header, resp.body)
	}
	if !strings.Contains(resp.body, "hold_timeout") {
		t.Errorf("reason %q does not name hold_timeout", resp.body)
	}
	if n := counter(t, rcv.tel, metricRefused, "reason", reasonTimeout); n != 1 {
		t.Errorf("requests_refused{reason=timeout} = %d", n)
	}
}

// ignoringConsumer ignores its ctx and returns only when released.
type ignoringConsumer struct {
	release chan struct{}
	err     error
}

func (c *ignoringConsumer) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (c *ignoringConsumer) ConsumeLogs(context.Context, plog.Logs) error {
	<-c.release
	return c.err
}

// Even a consumer that ignores its ctx cannot keep the answer past the
// write deadline: the handler answers 503 within the margin.
func TestHoldAnswersEvenIfConsumerIgnoresContext(t *testing.T) {
	next := &ignoringConsumer{release: make(chan struct{})}
	defer close(next.release)
	rcv := startReceiver(t, next, func(w *WebhookConfig) {
		w.WriteTimeout = 5 * time.Second // the answer goes out 2s after the hold, 2s before this
		w.HoldTimeout = 1 * time.Second
	})
	resp := post(t, rcv.url, "application/json", fliptcapture.WebhookRequests(t, false)[0].Body)
	if resp.status != http.StatusServiceUnavailable || resp.header.Get("Retry-After") == "" {
		t.Fatalf("held request: %d %v %q", resp.status, resp.header, resp.body)
	}
}

// With dedup_window on, a consumer that accepts after its request was
// answered 503 has the body remembered: Flipt's retry is then a duplicate,
// not a second copy.
func TestLateAcceptanceSuppressesTheRetry(t *testing.T) {
	sink := new(consumertest.LogsSink)
	next := &ignoringConsumer{release: make(chan struct{})}
	var released atomic.Bool
	rcv := startReceiver(t, consumerFunc(func(ctx context.Context, ld plog.Logs) error {
		if !released.Load() {
			if err := next.ConsumeLogs(ctx, ld); err != nil {
				return err
			}
		}
		return sink.ConsumeLogs(ctx, ld)
	}), func(w *WebhookConfig) {
		w.WriteTimeout = 3 * time.Second
		w.HoldTimeout = 1 * time.Second
		w.DedupWindow = time.Minute
	})
	body := fliptcapture.WebhookRequests(t, false)[0].Body
	if resp := post(t, rcv.url, "application/json", body); resp.status != http.StatusServiceUnavailable {
		t.Fatalf("held request: %d", resp.status)
	}
	released.Store(true)
	close(next.release) // the consumer now accepts, after the 503
	require.Eventually(t, func() bool { return sink.LogRecordCount() == 1 }, 30*time.Second, 10*time.Millisecond, "the late acceptance")
	if r := post(t, rcv.url, "application/json", body); r.status != http.StatusOK || counter(t, rcv.tel, metricDuplicates, "", "") != 1 {
		t.Errorf("Flipt's retry: %d, duplicates_suppressed %d", r.status, counter(t, rcv.tel, metricDuplicates, "", ""))
	}
	if n := sink.LogRecordCount(); n != 1 {
		t.Errorf("%d records, want the one accepted late", n)
	}
}

// Shutdown during a hold ends it: the client gets 503 + Retry-After (Flipt
// sends the event again, to this collector once restarted or to another),
// and Shutdown returns.
func TestShutdownAnswersHeldRequests(t *testing.T) {
	next := newBlockingConsumer()
	rcv := startReceiverNoCleanupShutdown(t, next, func(w *WebhookConfig) {
		w.WriteTimeout = time.Hour
		w.HoldTimeout = 59 * time.Minute
	})
	body := fliptcapture.WebhookRequests(t, false)[0].Body
	const held = 3
	answers := make(chan response, held)
	for range held {
		go func() {
			req, _ := http.NewRequest(http.MethodPost, rcv.url, strings.NewReader(string(body)))
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				answers <- response{status: -1, body: err.Error()}
				return
			}
			resp.Body.Close()
			answers <- response{status: resp.StatusCode, header: resp.Header}
		}()
	}
	for range held {
		<-next.started
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := rcv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for range held {
		a := <-answers
		if a.status != http.StatusServiceUnavailable || a.header.Get("Retry-After") == "" {
			t.Errorf("held request at shutdown: %d %v %s", a.status, a.header, a.body)
		}
	}
	if n := counter(t, rcv.tel, metricRefused, "reason", reasonShutdown); n != held {
		t.Errorf("requests_refused{reason=shutdown} = %d", n)
	}
}

// Shutdown returns within its own ctx even when a consumer ignores its
// ctx and the answer cannot be sent in time.
func TestShutdownReturnsWithinItsContext(t *testing.T) {
	next := &ignoringConsumer{release: make(chan struct{})}
	defer close(next.release)
	rcv := startReceiverNoCleanupShutdown(t, next, func(w *WebhookConfig) {
		w.WriteTimeout = time.Hour
		w.HoldTimeout = 59 * time.Minute
	})
	go func() {
		req, _ := http.NewRequest(http.MethodPost, rcv.url, strings.NewReader(string(fliptcapture.WebhookRequests(t, false)[0].Body)))
		req.Header.Set("Content-Type", "application/json")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	require.Eventually(t, func() bool { return counter(t, rcv.tel, metricReceived, "", "") == 1 }, 30*time.Second, 10*time.Millisecond, "the request to be held")
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // already over: Shutdown must not wait for the held request
	if err := rcv.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown with an ended ctx: %v", err)
	}
}

// switchedConsumer fails with a retryable error while failing is set, as
// audit_file does on a full disk.
type switchedConsumer struct {
	failing atomic.Bool
	sink    consumertest.LogsSink
}

func (f *switchedConsumer) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (f *switchedConsumer) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	if f.failing.Load() {
		return errors.New("open /var/log/otelcol-flipt/flipt-audit.log: no space left on device")
	}
	return f.sink.ConsumeLogs(ctx, ld)
}

// The health path says 503 while the pipeline refuses (the last hand-off
// failed with a retryable error and none succeeded since), with a reason
// that does not echo the pipeline's error, and ok once one is accepted.
func TestHealthFollowsThePipeline(t *testing.T) {
	next := new(switchedConsumer)
	rcv := startReceiver(t, next, nil)
	health := strings.TrimSuffix(rcv.url, defaultPath) + defaultHealthPath
	get := func() response {
		req, _ := http.NewRequest(http.MethodGet, health, nil)
		return do(t, req)
	}
	if r := get(); r.status != http.StatusOK {
		t.Fatalf("before any request: %d %s", r.status, r.body)
	}
	reqs := fliptcapture.WebhookRequests(t, false)
	next.failing.Store(true)
	if r := post(t, rcv.url, "application/json", reqs[0].Body); r.status != http.StatusServiceUnavailable {
		t.Fatalf("refused hand-off: %d", r.status)
	}
	r := get()
	if r.status != http.StatusServiceUnavailable || strings.Count(r.body, "\n") != 1 || strings.Contains(r.body, "no space") {
		t.Fatalf("health while refusing: %d %q", r.status, r.body)
	}
	// A permanent refusal (a bad event) says nothing of the pipeline.
	if r := post(t, rcv.url, "application/json", []byte("{")); r.status != http.StatusBadRequest {
		t.Fatalf("bad body: %d", r.status)
	}
	if r := get(); r.status != http.StatusServiceUnavailable {
		t.Errorf("health after a 400: %d", r.status)
	}
	next.failing.Store(false)
	if r := post(t, rcv.url, "application/json", reqs[0].Body); r.status != http.StatusOK {
		t.Fatalf("recovered hand-off: %d", r.status)
	}
	if r := get(); r.status != http.StatusOK || r.body != "ok\n" {
		t.Errorf("health after recovery: %d %q", r.status, r.body)
	}
}

type consumerFunc func(context.Context, plog.Logs) error

func (f consumerFunc) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (f consumerFunc) ConsumeLogs(ctx context.Context, ld plog.Logs) error { return f(ctx, ld) }

// ctxEndConsumer blocks until its ctx ends and reports the error it ended
// with.
type ctxEndConsumer struct {
	started chan struct{}
	ended   chan error
}

func (c *ctxEndConsumer) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (c *ctxEndConsumer) ConsumeLogs(ctx context.Context, _ plog.Logs) error {
	c.started <- struct{}{}
	<-ctx.Done()
	c.ended <- ctx.Err()
	return ctx.Err()
}

// A sender that goes away during the hold ends the next consumer's
// context (cancelled, not the hold's deadline), as the request's own
// context does: the hold is not waited out for nobody.
func TestHoldEndsWhenSenderGoesAway(t *testing.T) {
	next := &ctxEndConsumer{started: make(chan struct{}, 1), ended: make(chan error, 1)}
	rcv := startReceiver(t, next, func(w *WebhookConfig) { w.HoldTimeout = 20 * time.Second })
	r := fliptcapture.WebhookRequests(t, false)[0]
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rcv.url, strings.NewReader(string(r.Body)))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	sent := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		sent <- err
	}()
	<-next.started
	cancel() // the client closes the connection
	require.Error(t, <-sent)
	select {
	case err := <-next.ended:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("consumer's context ended with %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second): // half the hold: well before it
		t.Fatal("the consumer's context did not end when the sender went away")
	}
}

type holdKey struct{}

// A hold carries the request's values, ends with the receiver's Shutdown
// (its cause errStopping), and not with the request's context, which
// handOff watches itself.
func TestHoldEndsAtShutdown(t *testing.T) {
	req, reqCancel := context.WithCancel(context.WithValue(context.Background(), holdKey{}, "v"))
	stopping, stop := context.WithCancelCause(context.Background())
	ctx := newHold(req, stopping, time.Hour)
	defer ctx.cancel()
	if got := ctx.Value(holdKey{}); got != "v" {
		t.Errorf("request value = %v", got)
	}
	reqCancel()
	if ctx.Err() != nil {
		t.Fatalf("the request's end ended the hold: %v", ctx.Err())
	}
	stop(errStopping)
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown did not end the hold")
	}
	if !errors.Is(context.Cause(ctx), errStopping) || !errors.Is(ctx.Err(), context.Canceled) {
		t.Errorf("err, cause = %v, %v, want context.Canceled, errStopping", ctx.Err(), context.Cause(ctx))
	}
}

// A hold reads as context.WithTimeout's context would, whether or not
// anything watched it before it ended: its deadline, DeadlineExceeded
// past it, Canceled at Shutdown (cause errStopping) or when cancelled,
// and contexts derived from it end with it, with its error.
func TestHoldReadsAsATimerContext(t *testing.T) {
	for _, watched := range []bool{false, true} {
		for _, end := range []string{"deadline", "shutdown", "cancel"} {
			t.Run(fmt.Sprintf("%s/watched=%v", end, watched), func(t *testing.T) {
				stopping, stop := context.WithCancelCause(context.Background())
				defer stop(nil)
				want := context.WithValue(context.Background(), holdKey{}, "v")
				hold := time.Hour
				if end == "deadline" {
					hold = 50 * time.Millisecond
				}
				t0 := time.Now()
				ctx := newHold(want, stopping, hold)
				t1 := time.Now()
				defer ctx.cancel()
				if dl, ok := ctx.Deadline(); !ok || dl.Before(t0.Add(hold)) || dl.After(t1.Add(hold)) {
					t.Fatalf("deadline %v %v, want hold_timeout from its start", dl, ok)
				}
				var derived context.Context
				var after atomic.Bool
				if watched {
					var cancel context.CancelFunc
					derived, cancel = context.WithTimeout(ctx, 2*time.Hour)
					defer cancel()
					context.AfterFunc(ctx, func() { after.Store(true) })
				}
				// A deadline may pass already on a busy machine: what holds
				// before the end is asked of the other ends.
				if end != "deadline" {
					if watched {
						stopped := context.AfterFunc(ctx, func() { t.Error("a stopped AfterFunc ran") })
						if !stopped() {
							t.Error("AfterFunc's stop before the end returned false")
						}
					}
					if ctx.Err() != nil {
						t.Fatalf("ended before its end: %v", ctx.Err())
					}
				}
				wantErr, wantCause := context.Canceled, error(context.Canceled)
				switch end {
				case "deadline":
					wantErr, wantCause = context.DeadlineExceeded, context.DeadlineExceeded
					require.Eventually(t, func() bool { return ctx.Err() != nil }, 10*time.Second, 5*time.Millisecond)
				case "shutdown":
					wantCause = errStopping
					stop(errStopping)
				case "cancel":
					ctx.cancel()
				}
				select {
				case <-ctx.Done():
				case <-time.After(10 * time.Second):
					t.Fatal("Done did not close")
				}
				if !errors.Is(ctx.Err(), wantErr) || !errors.Is(context.Cause(ctx), wantCause) {
					t.Errorf("err, cause = %v, %v, want %v, %v", ctx.Err(), context.Cause(ctx), wantErr, wantCause)
				}
				if ctx.Value(holdKey{}) != "v" {
					t.Error("the request's value is gone")
				}
				if derived != nil {
					select {
					case <-derived.Done():
					case <-time.After(10 * time.Second):
						t.Fatal("a derived context did not end with the hold")
					}
					if !errors.Is(derived.Err(), wantErr) {
						t.Errorf("derived err = %v, want %v", derived.Err(), wantErr)
					}
					require.Eventually(t, after.Load, 10*time.Second, 5*time.Millisecond, "AfterFunc did not run")
				}
				// After the end: Done is closed at once, AfterFunc runs.
				if late := newHoldEnded(t, end); late.Err() == nil {
					t.Error("an ended hold has no error")
				}
			})
		}
	}
}

// newHoldEnded is a hold ended before anything watched it: Done is then
// closed at once and AfterFunc runs.
func newHoldEnded(t *testing.T, end string) *holdCtx {
	ctx := newHold(context.Background(), context.Background(), time.Hour)
	ctx.cancel()
	select {
	case <-ctx.Done():
	default:
		t.Fatal("Done of an ended hold is open")
	}
	ran := make(chan struct{})
	if context.AfterFunc(ctx, func() { close(ran) })() {
		t.Error("stop of an AfterFunc after the end returned true")
	}
	select {
	case <-ran:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: AfterFunc after the end did not run", end)
	}
	return ctx
}

// metadataConsumer records the client metadata its context carries.
type metadataConsumer struct{ got chan []string }

func (c *metadataConsumer) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (c *metadataConsumer) ConsumeLogs(ctx context.Context, _ plog.Logs) error {
	c.got <- client.FromContext(ctx).Metadata.Get("X-Tenant")
	return nil
}

// With include_metadata the next consumer sees the request's headers, as
// from any confighttp receiver: the hold keeps the request's values.
func TestIncludeMetadataReachesConsumer(t *testing.T) {
	next := &metadataConsumer{got: make(chan []string, 1)}
	rcv := startReceiver(t, next, func(w *WebhookConfig) { w.IncludeMetadata = true })
	r := fliptcapture.WebhookRequests(t, false)[0]
	if resp := post(t, rcv.url, "application/json", r.Body, "X-Tenant", "acme"); resp.status != http.StatusOK {
		t.Fatalf("%d %s", resp.status, resp.body)
	}
	if got := <-next.got; len(got) != 1 || got[0] != "acme" {
		t.Errorf("metadata X-Tenant = %v, want [acme]", got)
	}
}

// Hand-off runners are reused: 200 hand-offs one after another leave a
// few runners, not 200, and stop ends them all.
func TestHandOffRunnersAreReusedAndStop(t *testing.T) {
	before := runtime.NumGoroutine()
	p := newHandOffRunners()
	ok := func(context.Context, plog.Logs) error { return nil }
	for range 200 {
		if err := handOff(newHold(context.Background(), context.Background(), time.Minute), nil, p, ok, plog.NewLogs(), time.Second, nil); err != nil {
			t.Fatal(err)
		}
	}
	if n := runtime.NumGoroutine() - before; n > 10 {
		t.Errorf("%d goroutines left by 200 sequential hand-offs", n)
	}
	p.stop()
	p.stop() // Shutdown after a failed Start stops them again
	// +1: Eventually runs the condition on a goroutine of its own.
	require.Eventually(t, func() bool { return runtime.NumGoroutine() <= before+1 }, 10*time.Second, 10*time.Millisecond,
		"runners left after stop")
}

// Hand-off jobs are reused, but never one whose handler stopped waiting:
// the result a late consumer sends after its hold ended does not reach
// the hand-offs that follow, each of which gets its own consumer's error.
func TestLateResultNeverReachesALaterHandOff(t *testing.T) {
	p := newHandOffRunners()
	defer p.stop()
	errLate, errOwn := errors.New("late"), errors.New("own")
	release := make(chan struct{})
	late := func(context.Context, plog.Logs) error { <-release; return errLate }
	ended := newHold(context.Background(), context.Background(), time.Minute)
	ended.cancel() // the hold is over before the consumer returns
	gone := make(chan struct{})
	close(gone)
	if err := handOff(ended, gone, p, late, plog.NewLogs(), time.Millisecond, nil); !errors.Is(err, errHoldExpired) {
		t.Fatalf("held hand-off: %v, want errHoldExpired", err)
	}
	for i := range 100 {
		if i == 50 {
			close(release) // the late consumer returns among the others
		}
		own := func(context.Context, plog.Logs) error { return errOwn }
		err := handOff(newHold(context.Background(), context.Background(), time.Minute), nil, p, own, plog.NewLogs(), time.Minute, nil)
		if !errors.Is(err, errOwn) {
			t.Fatalf("hand-off %d: %v, want its own consumer's error", i, err)
		}
	}
}
