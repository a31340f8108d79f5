package loadgen

import (
	"context"
	"crypto/hmac"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/otelcol-flipt/otelcol-flipt/internal/auditevent"
	"github.com/otelcol-flipt/otelcol-flipt/internal/e2etest"
)

// webhookSink is a loopback server that checks signatures, decodes every
// body as audit events and keeps their keys; it fails the first
// failFirst attempts of each distinct body with 500.
type webhookSink struct {
	t         *testing.T
	secret    string
	failFirst int

	mu       sync.Mutex
	keys     []string
	attempts map[string]int
}

func (s *webhookSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if s.secret != "" && !hmac.Equal([]byte(r.Header.Get(SignatureHeader)), []byte(Sign(s.secret, body))) {
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	logs := plog.NewLogRecordSlice()
	if _, err := auditevent.DecodeRecords(body, logs.AppendEmpty, auditevent.SourceWebhook, 0); err != nil {
		s.t.Errorf("loadgen sent a body that is not audit events: %v", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.attempts[string(body)]++; s.attempts[string(body)] <= s.failFirst {
		http.Error(w, "try again", http.StatusInternalServerError)
		return
	}
	for _, lr := range logs.All() {
		b, _ := auditevent.Body(lr)
		p, _ := b.Get(auditevent.KeyPayload)
		k, _ := p.Map().Get("key")
		s.keys = append(s.keys, k.Str())
	}
}

func serve(t *testing.T, h http.Handler) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + l.Addr().String()
}

func TestWebhookAndNDJSON(t *testing.T) {
	for _, mode := range []string{ModeWebhook, ModeNDJSON} {
		t.Run(mode, func(t *testing.T) {
			sink := &webhookSink{t: t, secret: "k", attempts: map[string]int{}}
			url := serve(t, sink)
			rep, err := Run(context.Background(), Config{Mode: mode, Target: url, Secret: "k", Run: "r1", Count: 250, Concurrency: 4, Batch: 10})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Sent != 250 || rep.Acked != 250 || rep.Errors != 0 || len(rep.Refused) != 0 {
				t.Fatalf("report %+v", rep)
			}
			if tally := Verify([]byte(strings.Join(quote(sink.keys), "\n")), "r1", 250); !tally.OK() {
				t.Fatalf("sink got %s", tally)
			}
		})
	}
}

func quote(keys []string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = `"` + k + `"`
	}
	return out
}

// With FliptRetry, 500s are retried like Flipt does and nothing is lost.
func TestFliptRetry(t *testing.T) {
	sink := &webhookSink{t: t, attempts: map[string]int{}, failFirst: 2}
	url := serve(t, sink)
	rep, err := Run(context.Background(), Config{Mode: ModeWebhook, Target: url, Run: "r2", Count: 20, Concurrency: 2,
		FliptRetry: true, MaxBackoff: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Acked != 20 || rep.Retries != 40 {
		t.Fatalf("report %+v", rep)
	}
	if tally := Verify([]byte(strings.Join(quote(sink.keys), " ")), "r2", 20); !tally.OK() {
		t.Fatal(tally)
	}

	// After 5 failed attempts Flipt gives up; so does the generator.
	sink = &webhookSink{t: t, attempts: map[string]int{}, failFirst: 5}
	url = serve(t, sink)
	rep, _ = Run(context.Background(), Config{Mode: ModeWebhook, Target: url, Run: "r3", Count: 3,
		FliptRetry: true, MaxBackoff: time.Millisecond})
	if rep.Acked != 0 || rep.Refused[500] != 3 || rep.Retries != 12 {
		t.Fatalf("report %+v", rep)
	}
}

// OTLP modes deliver to the collector's real otlp receiver.
func TestOTLP(t *testing.T) {
	f := otlpreceiver.NewFactory()
	cfg := f.CreateDefaultConfig().(*otlpreceiver.Config)
	grpcAddr, httpAddr := e2etest.FreeAddr(t), e2etest.FreeAddr(t)
	cfg.Protocols.GRPC.GetOrInsertDefault().NetAddr.Endpoint = grpcAddr
	cfg.Protocols.HTTP.GetOrInsertDefault().ServerConfig.NetAddr.Endpoint = httpAddr
	sink := &consumertest.TracesSink{}
	r, err := f.CreateTraces(context.Background(), receivertest.NewNopSettings(f.Type()), cfg, sink)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Shutdown(context.Background()) })

	for mode, target := range map[string]string{ModeOTLPHTTP: "http://" + httpAddr, ModeOTLPGRPC: grpcAddr} {
		sink.Reset()
		rep, err := Run(context.Background(), Config{Mode: mode, Target: target, Run: "o", Count: 30, Batch: 7, Concurrency: 2})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Acked != 30 || rep.Requests != 5 {
			t.Fatalf("%s: report %+v", mode, rep)
		}
		events, misses := 0, 0
		for _, td := range sink.AllTraces() {
			for _, rs := range td.ResourceSpans().All() {
				for _, ss := range rs.ScopeSpans().All() {
					for _, s := range ss.Spans().All() {
						for _, ev := range s.Events().All() {
							lr := plog.NewLogRecord()
							if err := auditevent.RecordFromSpanEvent(s, ev, lr, 0); err != nil {
								t.Fatal(err)
							}
							events++
						}
						if strings.HasPrefix(s.Name(), "sql.") {
							misses++
						}
					}
				}
			}
		}
		if events != 30 || misses != 15 {
			t.Fatalf("%s: %d audit events, %d sql spans", mode, events, misses)
		}
	}
}

func TestBoundedAndPaced(t *testing.T) {
	sink := &webhookSink{t: t, attempts: map[string]int{}}
	url := serve(t, sink)
	if _, err := Run(context.Background(), Config{Mode: ModeWebhook, Target: url, Run: "x"}); err == nil {
		t.Fatal("an unbounded run was accepted")
	}
	// A paced run of 20 events at 200/s cannot finish in under ~95ms.
	start := time.Now()
	rep, err := Run(context.Background(), Config{Mode: ModeWebhook, Target: url, Run: "p", Count: 20, Rate: 200})
	if err != nil || rep.Acked != 20 {
		t.Fatalf("%v %+v", err, rep)
	}
	if time.Since(start) < 90*time.Millisecond {
		t.Fatalf("rate not applied: %s", time.Since(start))
	}
	// A duration-bounded flat-out run stops by itself.
	rep, err = Run(context.Background(), Config{Mode: ModeWebhook, Target: url, Run: "d", Duration: 200 * time.Millisecond, Concurrency: 2})
	if err != nil || rep.Acked == 0 || rep.Elapsed > 5 {
		t.Fatalf("%v %+v", err, rep)
	}
}

func TestVerify(t *testing.T) {
	data := []byte(`"lg-a-0" "lg-a-2" "lg-a-2" "lg-a-9" "lg-b-1"`)
	tally := Verify(data, "a", 4)
	if tally.Found != 4 || len(tally.Missing) != 2 || tally.Duplicates[0] != 2 || tally.Unexpected != 1 || tally.OK() {
		t.Fatalf("%+v", tally)
	}
}
