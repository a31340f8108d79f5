package loadgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// Modes of sending.
const (
	ModeWebhook  = "webhook"   // one event per POST, like Flipt
	ModeNDJSON   = "ndjson"    // Batch events per POST, newline-delimited
	ModeOTLPHTTP = "otlp-http" // Batch audit events per OTLP/HTTP protobuf export
	ModeOTLPGRPC = "otlp-grpc" // the same over OTLP/gRPC
)

// Config says what to send, where, how fast and for how long.
type Config struct {
	Mode string
	// Target is the webhook URL, the OTLP/HTTP base URL (http://host:4318)
	// or the OTLP/gRPC host:port.
	Target string
	// Secret signs webhook bodies when set.
	Secret string
	// Run names this run; it is part of every event key.
	Run string
	// Count is the number of events to send; 0 means until Duration.
	Count int
	// Duration bounds the run; 0 means until Count.
	Duration time.Duration
	// Rate is the target events per second; 0 sends flat out.
	Rate float64
	// Concurrency is the number of parallel senders.
	Concurrency int
	// Batch is the number of events per request (not for ModeWebhook).
	Batch int
	// Scale multiplies the payload size (1 = Flipt-sized).
	Scale int
	// FliptRetry sends webhooks through go-retryablehttp configured as
	// Flipt's webhook sink does (5 attempts, exponential backoff from 1s,
	// capped by MaxBackoff, Retry-After honoured).
	FliptRetry bool
	MaxBackoff time.Duration
	// Timeout bounds each request.
	Timeout time.Duration
}

// Report is what a run did.
type Report struct {
	Mode     string      `json:"mode"`
	Run      string      `json:"run"`
	Requests int         `json:"requests"`
	Sent     int         `json:"events_sent"`
	Acked    int         `json:"events_acked"`
	Refused  map[int]int `json:"refused_requests_by_status,omitempty"`
	// Unacked lists the sequence numbers of events not acknowledged.
	Unacked      []int   `json:"unacked_events,omitempty"`
	Errors       int     `json:"transport_errors"`
	Retries      int64   `json:"retries"`
	Elapsed      float64 `json:"elapsed_s"`
	EventsPerSec float64 `json:"acked_events_per_s"`
	Latency      Latency `json:"latency"`
}

func (c *Config) validate() error {
	switch c.Mode {
	case ModeWebhook, ModeNDJSON, ModeOTLPHTTP, ModeOTLPGRPC:
	default:
		return fmt.Errorf("mode %q: want webhook, ndjson, otlp-http or otlp-grpc", c.Mode)
	}
	if c.Target == "" {
		return errors.New("target is required")
	}
	if c.Count <= 0 && c.Duration <= 0 {
		return errors.New("set count or duration: a run is always bounded")
	}
	if c.Run == "" || strings.ContainsAny(c.Run, `"\ `) {
		return fmt.Errorf("run %q: want a non-empty name without quotes or spaces", c.Run)
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 1
	}
	if c.Batch <= 0 || c.Mode == ModeWebhook {
		c.Batch = 1
	}
	if c.Scale <= 0 {
		c.Scale = 1
	}
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Second
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = 8 * time.Second
	}
	return nil
}

// sender sends events [from, to) and returns the final status: an HTTP
// status, 200 for a gRPC success, or 0 for a transport error.
type sender func(ctx context.Context, from, to int) int

// Run sends load as cfg says and reports what happened.
func Run(ctx context.Context, cfg Config) (Report, error) {
	if err := cfg.validate(); err != nil {
		return Report{}, err
	}
	var retries atomic.Int64
	send, closeFn, err := newSender(cfg, &retries)
	if err != nil {
		return Report{}, err
	}
	defer closeFn()

	rec := newRecorder()
	var next atomic.Int64
	start := time.Now()
	// The duration stops new requests; those in flight finish, so that
	// every event the far end may have taken is counted as sent.
	over := func() bool { return ctx.Err() != nil || cfg.Duration > 0 && time.Since(start) >= cfg.Duration }
	var wg sync.WaitGroup
	for range cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !over() {
				from := int(next.Add(int64(cfg.Batch))) - cfg.Batch
				to := from + cfg.Batch
				if cfg.Count > 0 {
					if from >= cfg.Count {
						return
					}
					to = min(to, cfg.Count)
				}
				if cfg.Rate > 0 { // pace: event `from` is due at start + from/rate
					offset := time.Duration(float64(from) / cfg.Rate * float64(time.Second))
					if cfg.Duration > 0 && offset >= cfg.Duration {
						return // due after the end: decided by the sequence, so sent events have no gaps
					}
					select {
					case <-time.After(time.Until(start.Add(offset))):
					case <-ctx.Done():
						return
					}
				}
				t0 := time.Now()
				status := send(ctx, from, to)
				if ctx.Err() != nil && status == 0 {
					return // cut off by the run's end, not a failure
				}
				rec.record(from, to, status, time.Since(t0))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	rep := Report{
		Mode: cfg.Mode, Run: cfg.Run,
		Requests: rec.requests, Sent: rec.sent, Acked: rec.acked, Refused: rec.refused, Unacked: rec.unacked, Errors: rec.errors,
		Retries: retries.Load(), Elapsed: elapsed.Seconds(),
		EventsPerSec: float64(rec.acked) / elapsed.Seconds(), Latency: rec.latency(),
	}
	return rep, nil
}

func newSender(cfg Config, retries *atomic.Int64) (sender, func(), error) {
	transport := &http.Transport{MaxIdleConnsPerHost: cfg.Concurrency, MaxConnsPerHost: cfg.Concurrency}
	client := &http.Client{Transport: transport, Timeout: cfg.Timeout}
	closeIdle := transport.CloseIdleConnections
	post := func(ctx context.Context, url, contentType string, body []byte, sig string) int {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return 0
		}
		req.Header.Set("Content-Type", contentType)
		if sig != "" {
			req.Header.Set(SignatureHeader, sig)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if cfg.FliptRetry {
		rc := fliptRetryClient(client, cfg.MaxBackoff, retries)
		post = func(ctx context.Context, url, contentType string, body []byte, sig string) int {
			req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodPost, url, body)
			if err != nil {
				return 0
			}
			req.Header.Set("Content-Type", contentType)
			if sig != "" {
				req.Header.Set(SignatureHeader, sig)
			}
			resp, _ := rc.Do(req)
			if resp == nil {
				return 0
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return resp.StatusCode
		}
	}
	sign := func(body []byte) string {
		if cfg.Secret == "" {
			return ""
		}
		return Sign(cfg.Secret, body)
	}

	switch cfg.Mode {
	case ModeWebhook:
		return func(ctx context.Context, from, _ int) int {
			body := WebhookEvent(cfg.Run, from, cfg.Scale, time.Now())
			return post(ctx, cfg.Target, "application/json", body, sign(body))
		}, closeIdle, nil
	case ModeNDJSON:
		return func(ctx context.Context, from, to int) int {
			var body []byte
			now := time.Now()
			for seq := from; seq < to; seq++ {
				body = append(body, WebhookEvent(cfg.Run, seq, cfg.Scale, now)...)
				body = append(body, '\n')
			}
			return post(ctx, cfg.Target, "application/x-ndjson", body, sign(body))
		}, closeIdle, nil
	case ModeOTLPHTTP:
		url := strings.TrimSuffix(cfg.Target, "/") + "/v1/traces"
		return func(ctx context.Context, from, to int) int {
			body, err := ptraceotlp.NewExportRequestFromTraces(Traces(cfg.Run, from, to, cfg.Scale, time.Now())).MarshalProto()
			if err != nil {
				return 0
			}
			return post(ctx, url, "application/x-protobuf", body, "")
		}, closeIdle, nil
	}
	conn, err := grpc.NewClient(cfg.Target, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, nil, fmt.Errorf("otlp-grpc target %q: %w", cfg.Target, err)
	}
	grpcClient := ptraceotlp.NewGRPCClient(conn)
	return func(ctx context.Context, from, to int) int {
		ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
		defer cancel()
		_, err := grpcClient.Export(ctx, ptraceotlp.NewExportRequestFromTraces(Traces(cfg.Run, from, to, cfg.Scale, time.Now())))
		if err == nil {
			return http.StatusOK
		}
		if s, ok := status.FromError(err); ok {
			return 1000 + int(s.Code()) // gRPC codes reported as 1000+code
		}
		return 0
	}, func() { _ = conn.Close() }, nil
}

// fliptRetryClient is configured as Flipt's webhook sink configures
// go-retryablehttp: 4 retries (5 attempts), waits 1s, 2s, 4s, 8s capped by
// max_backoff_duration, retrying connection errors, 429 and 5xx but 501.
func fliptRetryClient(c *http.Client, maxBackoff time.Duration, retries *atomic.Int64) *retryablehttp.Client {
	rc := retryablehttp.NewClient()
	rc.HTTPClient = c
	rc.Logger = nil
	rc.RetryMax = 4
	rc.RetryWaitMin = time.Second
	rc.RetryWaitMax = maxBackoff
	rc.RequestLogHook = func(_ retryablehttp.Logger, _ *http.Request, attempt int) {
		if attempt > 0 {
			retries.Add(1)
		}
	}
	// Report the last status instead of a generic "giving up" error.
	rc.ErrorHandler = retryablehttp.PassthroughErrorHandler
	return rc
}
