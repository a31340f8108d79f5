package main

import (
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/otelcol-flipt/otelcol-flipt/internal/e2etest"
	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
)

// mergeDelivery is one request Flipt made to the collector: a webhook POST
// or an OTLP/HTTP trace export.
type mergeDelivery struct {
	name   string
	path   string // /flipt/audit or /v1/traces
	body   []byte
	header []string
}

// mergeWebhookDeliveries are the webhook POSTs a real Flipt v1.61.1 got a
// 200 for: the 51 of webhook-requests.ndjson and, of the retried pair, the
// event whose third attempt succeeded. The other retried event (5 failures,
// then Flipt gave up) reached the collector only inside the traces.
func mergeWebhookDeliveries(t *testing.T) []mergeDelivery {
	var out []mergeDelivery
	replies := fliptcapture.Lines(t, "webhook-requests-retry.ndjson.replies")
	retried := fliptcapture.WebhookRequests(t, true)
	reqs := fliptcapture.WebhookRequests(t, false)
	for i, r := range retried {
		if strings.Contains(string(replies[i]), `"reply_status": 200`) {
			reqs = append(reqs, r)
		}
	}
	if len(reqs) != 52 {
		t.Fatalf("want 52 delivered webhook events in the captures, got %d", len(reqs))
	}
	for _, r := range reqs {
		out = append(out, mergeDelivery{
			name: fmt.Sprintf("webhook %d", r.Seq), path: "/flipt/audit", body: r.Body,
			header: []string{"Content-Type", "application/json", "X-Flipt-Webhook-Signature", r.Header("X-Flipt-Webhook-Signature")},
		})
	}
	return out
}

func mergeTraceDeliveries(t *testing.T) []mergeDelivery {
	var out []mergeDelivery
	for i, body := range fliptcapture.TraceBodies(t) {
		out = append(out, mergeDelivery{
			name: fmt.Sprintf("traces %d", i+1), path: "/v1/traces", body: body,
			header: []string{"Content-Type", "application/x-protobuf"},
		})
	}
	return out
}

// mergeInterleave alternates one trace export with every few webhook POSTs.
func mergeInterleave(webhooks, traces []mergeDelivery) []mergeDelivery {
	var out []mergeDelivery
	step := len(webhooks)/len(traces) + 1
	for len(webhooks) > 0 || len(traces) > 0 {
		n := min(step, len(webhooks))
		out = append(out, webhooks[:n]...)
		webhooks = webhooks[n:]
		if len(traces) > 0 {
			out = append(out, traces[0])
			traces = traces[1:]
		}
	}
	return out
}

func (e defaultPipelineEnv) deliver(t *testing.T, d mergeDelivery) {
	t.Helper()
	addr := e.webhook
	if d.path == "/v1/traces" {
		addr = e.http
	}
	ct := d.header[1]
	if r := e2etest.Post(t, "http://"+addr+d.path, ct, d.body, d.header[2:]...); r.Status != http.StatusOK {
		t.Errorf("%s: %d %s", d.name, r.Status, r.Body)
	}
}

func sortedLines(s string) []string {
	lines := strings.SplitAfter(s, "\n")
	slices.Sort(lines)
	return lines
}

// Flipt configured as README.md says (signed webhook and OTLP tracing to the
// collector) delivers every audit event twice: by webhook and as a span
// event. The default pipeline merges the two copies, so its audit file holds
// Flipt's own audit.log once: in Flipt's order when the webhook came first,
// and as the same multiset for any other order, including both sources
// sending at the same time.
func TestE2EDefaultPipelineMergesWebhookAndTraces(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	want := string(fliptcapture.AuditLog(t))
	webhooks, traces := mergeWebhookDeliveries(t), mergeTraceDeliveries(t)
	orders := []struct {
		name     string
		seq      []mergeDelivery
		parallel bool
		ordered  bool // the file must equal audit.log line for line
	}{
		{name: "webhook_first", seq: append(slices.Clone(webhooks), traces...), ordered: true},
		{name: "traces_first", seq: append(slices.Clone(traces), webhooks...)},
		{name: "interleaved", seq: mergeInterleave(webhooks, traces)},
		{name: "concurrent", parallel: true},
		// Each source lost events the other has: webhook events 10-19, and
		// the third trace export (events 37-50).
		{name: "gaps_in_both", seq: append(slices.Delete(slices.Clone(webhooks), 10, 20), slices.Delete(slices.Clone(traces), 2, 3)...)},
	}
	for _, o := range orders {
		t.Run(o.name, func(t *testing.T) {
			t.Parallel()
			env := newDefaultPipelineEnv(t)
			col := e2etest.Start(t, e2etest.Options{Env: env.vars()})
			col.WaitHealthy("http://" + env.health)
			if o.parallel {
				var wg sync.WaitGroup
				for _, seq := range [][]mergeDelivery{webhooks, traces} {
					wg.Go(func() {
						for _, d := range seq {
							env.deliver(t, d)
						}
					})
				}
				wg.Wait()
			} else {
				for _, d := range o.seq {
					env.deliver(t, d)
				}
			}
			// Every answer came after the write: the file is complete now.
			got := e2etest.ReadFile(t, filepath.Join(col.Dir, "flipt-audit.log"))
			if o.ordered && got != want {
				t.Fatalf("audit file is not Flipt's audit.log:\n got %d lines\nwant %d lines\n%s",
					strings.Count(got, "\n"), strings.Count(want, "\n"), got)
			}
			if !slices.Equal(sortedLines(got), sortedLines(want)) {
				t.Fatalf("audit file does not hold Flipt's audit.log once: %d lines, want %d\n%s",
					strings.Count(got, "\n"), strings.Count(want, "\n"), got)
			}
		})
	}
}
