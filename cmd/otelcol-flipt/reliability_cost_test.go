package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/otelcol-flipt/otelcol-flipt/internal/e2etest"
	"github.com/otelcol-flipt/otelcol-flipt/internal/loadgen"
)

// relCostPassword is the OTLP listeners' basic auth password in the cost
// test.
const relCostPassword = "rel-otlp-9c41e07d" //nolint:gosec // test secret

// relCostConfig is the default pipeline's shape with every listener bounded:
// the webhook with its defaults (32 MiB bodies, 64 MiB in flight, 32
// requests), OTLP/HTTP with max_request_body_size, OTLP/gRPC with
// max_recv_msg_size_mib, both behind the bundled basicauth.
const relCostConfig = `
extensions:
  basicauth/otlp:
    htpasswd:
      inline: |
        flipt:${env:OTLP_PASSWORD}
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: ${env:GRPC}
        max_recv_msg_size_mib: 32
        auth:
          authenticator: basicauth/otlp
      http:
        endpoint: ${env:HTTP}
        max_request_body_size: 33554432
        auth:
          authenticator: basicauth/otlp
  flipt_audit:
    webhook:
      endpoint: ${env:WEBHOOK}
      signing_secret: ${env:SECRET}
connectors:
  flipt_audit/traces: {}
processors:
  memory_limiter:
    check_interval: 1s
    limit_percentage: 80
    spike_limit_percentage: 20
exporters:
  audit_file:
    path: ${env:AUDIT_FILE}
service:
  extensions: [basicauth/otlp]
  telemetry:
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [otlp]
      processors: [memory_limiter]
      exporters: [flipt_audit/traces]
    logs:
      receivers: [flipt_audit, flipt_audit/traces]
      processors: [memory_limiter]
      exporters: [audit_file]
`

// relCostEnv is one running collector of the cost test.
type relCostEnv struct {
	t              *testing.T
	col            *e2etest.Collector
	webhook, url   string
	grpc, http     string
	auditPath, run string
	legit          int // signed events accepted during the attack
}

func startRelCost(t *testing.T) *relCostEnv {
	t.Helper()
	e := &relCostEnv{t: t, webhook: e2etest.FreeAddr(t), grpc: e2etest.FreeAddr(t), http: e2etest.FreeAddr(t),
		auditPath: filepath.Join(t.TempDir(), "flipt-audit.log"), run: fmt.Sprintf("cost%d", time.Now().UnixNano())}
	e.url = "http://" + e.webhook + "/flipt/audit"
	e.col = newRelCollector(t, relCostConfig, e.url+"/health", "WEBHOOK="+e.webhook, "GRPC="+e.grpc, "HTTP="+e.http,
		"SECRET="+relSecret, "AUDIT_FILE="+e.auditPath, "OTLP_PASSWORD="+relCostPassword).start()
	return e
}

// checkAnswering asserts that health and a legitimate signed event are
// answered 200 now.
func (e *relCostEnv) checkAnswering() {
	e.t.Helper()
	if r := e2etest.Get(e.t, e.url+"/health"); r.Status != http.StatusOK {
		e.t.Errorf("health during the attack: %d %s", r.Status, r.Body)
	}
	if r := relPostSigned(e.t, e.url, loadgen.WebhookEvent(e.run, e.legit, 1, time.Now())); r.Status != http.StatusOK {
		e.t.Errorf("a signed event during the attack: %d %s", r.Status, r.Body)
	} else {
		e.legit++
	}
}

// checkFile waits for the legitimate events in the audit file and checks
// nothing else is there.
func (e *relCostEnv) checkFile(extra int) {
	e.t.Helper()
	data := relWaitFile(e.t, e.auditPath, "the legitimate events", 30*time.Second, func(b []byte) bool {
		return len(loadgen.Verify(b, e.run, e.legit).Missing) == 0
	})
	if lines, _ := relFileLines(data); len(lines) != e.legit+extra {
		e.t.Errorf("%d lines in the audit file, want the %d legitimate events and %d more", len(lines), e.legit, extra)
	}
}

// relZerosEvent is a signed-size webhook event whose payload is an array
// of zeros filling about size bytes: every 2 bytes a value.
func relZerosEvent(size int, withVersion bool) []byte {
	var b bytes.Buffer
	b.Grow(size + 256)
	b.WriteString(`{`)
	if withVersion {
		b.WriteString(`"version":"0.2",`)
	}
	b.WriteString(`"type":"flag","action":"created","metadata":{"actor":{"authentication":"token"}},"payload":[`)
	for b.Len() < size {
		b.WriteString("0,")
	}
	b.WriteString(`0],"timestamp":"` + time.Now().UTC().Format(time.RFC3339) + `","status":"success"}`)
	return b.Bytes()
}

// TestReliabilityCost answers what an attacker's bytes cost the built
// collector, on the webhook and on the OTLP listeners, with every refusal
// made before the work it would cost; the collector keeps answering Flipt
// throughout. Each subtest starts its own collector, so its peak RSS is its
// own.
func TestReliabilityCost(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	t.Run("one signed 20 MiB Flipt-shaped event, accepted", relCostLarge)
	t.Run("one signed 20 MiB event of zeros", relCostZeros)
	t.Run("a 20 MiB body without version", relCostNoVersion)
	t.Run("60 connections each sending 19 MiB and stalling", func(t *testing.T) { relCostStalled(t, true) })
	t.Run("60 connections without a signature", func(t *testing.T) { relCostStalled(t, false) })
	t.Run("OTLP/HTTP export with an 18 MB audit span-event payload", func(t *testing.T) { relCostOTLP(t, false) })
	t.Run("OTLP/gRPC export with an 18 MB audit span-event payload", func(t *testing.T) { relCostOTLP(t, true) })
}

// What the largest legitimate events cost: one of 20 MiB (a flag whose
// description is 20 MiB, as Flipt would send it) is accepted and written.
func relCostLarge(t *testing.T) {
	e := startRelCost(t)
	rss := relSampleRSS(e.col.PID())
	body := loadgen.WebhookEvent(e.run, e.legit, (20<<20)/300, time.Now())
	done := make(chan e2etest.Response, 1)
	go func() { done <- relPostSigned(t, e.url, body) }()
	r := <-done
	e.legit++
	e.checkAnswering()
	e.checkFile(0)
	peak := rss.Stop()
	t.Logf("RESULT cost: one signed %d MiB Flipt-shaped event: %d; peak RSS %.0f MiB", len(body)>>20, r.Status, peak)
	if r.Status != http.StatusOK {
		t.Fatalf("answer %d %q", r.Status, relTruncate(r.Body))
	}
	// The body, its record and its encoding in the audit file, each about
	// once, beside the process's own ~30 MiB.
	if peak > 200 {
		t.Errorf("peak RSS %.0f MiB, want below 200", peak)
	}
}

// A 20 MiB event of zeros holds 10 million values, over max_elements
// (2^22): refused 413 by the scan, before a value is built.
func relCostZeros(t *testing.T) {
	e := startRelCost(t)
	rss := relSampleRSS(e.col.PID())
	body := relZerosEvent(20<<20, true)
	done := make(chan e2etest.Response, 1)
	go func() { done <- relPostSigned(t, e.url, body) }()
	e.checkAnswering()
	r := <-done
	peak := rss.Stop()
	t.Logf("RESULT cost: one signed %d MiB event of zeros: %d %s; peak RSS %.0f MiB", len(body)>>20, r.Status, relTruncate(r.Body), peak)
	if r.Status != http.StatusRequestEntityTooLarge || !strings.Contains(r.Body, "max_elements") {
		t.Errorf("answer %d %q, want 413 naming max_elements", r.Status, r.Body)
	}
	if peak > 150 {
		t.Errorf("peak RSS %.0f MiB, want below 150", peak)
	}
	e.checkFile(0)
}

// An event without version is refused by the scan of its top level, before
// its payload is built (here kept under max_elements, so that only the
// missing field refuses it).
func relCostNoVersion(t *testing.T) {
	e := startRelCost(t)
	rss := relSampleRSS(e.col.PID())
	body := relZerosEvent(8<<20-4096, false) // 4.2 million values, under 2^22
	body = append(body, bytes.Repeat([]byte(" "), 20<<20-len(body))...)
	done := make(chan e2etest.Response, 1)
	go func() { done <- relPostSigned(t, e.url, body) }()
	e.checkAnswering()
	r := <-done
	peak := rss.Stop()
	t.Logf("RESULT cost: a signed %d MiB body without version: %d %s; peak RSS %.0f MiB", len(body)>>20, r.Status, relTruncate(r.Body), peak)
	if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, `missing "version"`) {
		t.Errorf("answer %d %q, want 400 naming the missing version", r.Status, r.Body)
	}
	if peak > 150 {
		t.Errorf("peak RSS %.0f MiB, want below 150", peak)
	}
	e.checkFile(0)
}

// 60 connections each declare a 20 MiB body signed wrongly, send 19 MiB
// and stall. max_in_flight_bytes (64 MiB) admits three; the others are
// answered 503 + Retry-After before their bodies are read. Without a
// signature header, all are answered 401 from the head. Health and signed
// events are answered meanwhile.
func relCostStalled(t *testing.T, withSignature bool) {
	e := startRelCost(t)
	rss := relSampleRSS(e.col.PID())
	const conns, declared, sent = 60, 20 << 20, 19 << 20
	type answer struct {
		status     int
		retryAfter string
	}
	answers := make(chan answer, conns)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var open []net.Conn
	t.Cleanup(func() {
		mu.Lock()
		for _, c := range open {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	chunk := make([]byte, 1<<20)
	for range conns {
		conn, err := net.Dial("tcp", e.webhook)
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		open = append(open, conn)
		mu.Unlock()
		wg.Add(2)
		go func() {
			defer wg.Done()
			head := fmt.Sprintf("POST /flipt/audit HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n",
				e.webhook, declared)
			if withSignature {
				head += fmt.Sprintf("%s: %064x\r\n", loadgen.SignatureHeader, 0)
			}
			head += "\r\n"
			if _, err := io.WriteString(conn, head); err != nil {
				return
			}
			for range sent / len(chunk) {
				if _, err := conn.Write(chunk); err != nil {
					return // refused and closed by the server
				}
			}
		}()
		go func() {
			defer wg.Done()
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				return // closed by this test: a stalled, admitted request
			}
			resp.Body.Close()
			answers <- answer{resp.StatusCode, resp.Header.Get("Retry-After")}
		}()
	}
	want, wantStatus := conns-3, http.StatusServiceUnavailable // three bodies fit in 64 MiB
	if !withSignature {
		want, wantStatus = conns, http.StatusUnauthorized
	}
	got := map[int]int{}
	e.col.WaitFor("the connections refused answered", func() bool {
		for {
			select {
			case a := <-answers:
				got[a.status]++
				if a.status == http.StatusServiceUnavailable && a.retryAfter == "" {
					t.Errorf("503 without Retry-After")
				}
				continue
			default:
			}
			return got[wantStatus] >= want
		}
	})
	e.checkAnswering()
	e.checkAnswering()
	peak := rss.Stop()
	t.Logf("RESULT cost: %d connections (signature header %v) each declaring %d MiB, sending %d MiB and stalling: answers %v, the rest held; peak RSS %.0f MiB",
		conns, withSignature, declared>>20, sent>>20, got, peak)
	if got[wantStatus] != want || len(got) != 1 {
		t.Errorf("answers %v, want %d x %d", got, want, wantStatus)
	}
	if peak > 400 {
		t.Errorf("peak RSS %.0f MiB, want below 400", peak)
	}
	e.checkFile(0)
}

// relBigPayloadTraces returns one Flipt-shaped export whose audit span
// event carries a payload of zeros of about size bytes, over max_elements.
func relBigPayloadTraces(run string, size int) ptrace.Traces {
	td := loadgen.Traces(run, 0, 1, 1, time.Now())
	payload := "[" + strings.Repeat("0,", size/2) + "0]"
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, span := range ss.Spans().All() {
				for _, ev := range span.Events().All() {
					if _, ok := ev.Attributes().Get("flipt.event.payload"); ok {
						ev.Attributes().PutStr("flipt.event.payload", payload)
					}
				}
			}
		}
	}
	return td
}

// relCostOTLP sends one export carrying an 18 MB audit payload to an OTLP
// listener, without credentials (refused by basicauth before the body is
// read) and with them (accepted by the receiver within its size limit;
// the connector skips the event, over max_elements, before building it).
func relCostOTLP(t *testing.T, useGRPC bool) {
	e := startRelCost(t)
	rss := relSampleRSS(e.col.PID())
	big := relBigPayloadTraces(e.run+"big", 18_000_000)
	legit := loadgen.Traces(e.run+"otlp", 0, 1, 1, time.Now())
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte("flipt:"+relCostPassword))

	var send func(td ptrace.Traces, authorization string) string
	if useGRPC {
		conn, err := grpc.NewClient(e.grpc, grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(64<<20)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = conn.Close() })
		client := ptraceotlp.NewGRPCClient(conn)
		send = func(td ptrace.Traces, authorization string) string {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if authorization != "" {
				ctx = metadata.AppendToOutgoingContext(ctx, "authorization", authorization)
			}
			_, err := client.Export(ctx, ptraceotlp.NewExportRequestFromTraces(td))
			return status.Code(err).String()
		}
	} else {
		send = func(td ptrace.Traces, authorization string) string {
			body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
			if err != nil {
				t.Fatal(err)
			}
			headers := []string{}
			if authorization != "" {
				headers = append(headers, "Authorization", authorization)
			}
			return fmt.Sprint(e2etest.Post(t, "http://"+e.http+"/v1/traces", "application/x-protobuf", body, headers...).Status)
		}
	}
	ok, unauthenticated := "200", "401"
	if useGRPC {
		ok, unauthenticated = codes.OK.String(), codes.Unauthenticated.String()
	}

	done := make(chan [2]string, 1)
	go func() { done <- [2]string{send(big, ""), send(big, auth)} }()
	e.checkAnswering()
	got := <-done
	if s := send(legit, auth); s != ok {
		t.Errorf("a Flipt-shaped export: %s", s)
	}
	peak := rss.Stop()
	t.Logf("RESULT cost: %s export with an 18 MB audit payload: without credentials %s, with them %s (the span event skipped, over max_elements); peak RSS %.0f MiB",
		map[bool]string{true: "OTLP/gRPC", false: "OTLP/HTTP"}[useGRPC], got[0], got[1], peak)
	if got[0] != unauthenticated || got[1] != ok {
		t.Errorf("answers %v, want %s then %s", got, unauthenticated, ok)
	}
	data := relWaitFile(t, e.auditPath, "the export's event", 30*time.Second, func(b []byte) bool {
		return len(loadgen.KeysIn(b, e.run+"otlp")) == 1
	})
	if n := len(loadgen.KeysIn(data, e.run+"big")); n != 0 {
		t.Errorf("the over-budget span event reached the audit file %d times", n)
	}
	// The body and its decoded export are the receiver's: about 3x the
	// payload, whatever the connector does.
	if peak > 250 {
		t.Errorf("peak RSS %.0f MiB, want below 250", peak)
	}
	e.checkFile(1)
}
