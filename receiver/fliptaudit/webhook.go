package fliptaudit

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelcol-flipt/otelcol-flipt/internal/auditevent"
	"github.com/otelcol-flipt/otelcol-flipt/receiver/fliptaudit/internal/metadata"
)

// Reasons a webhook request is refused, the reason attribute of the
// requests_refused metric.
const (
	reasonSignature   = "signature"
	reasonAuth        = "auth"
	reasonMalformed   = "malformed"
	reasonNotEvent    = "not_event"
	reasonTooLarge    = "too_large"
	reasonContentType = "content_type"
	reasonMethod      = "method"
	reasonLimit       = "limit"
	reasonDownstream  = "downstream"
	reasonTimeout     = "timeout"   // the hold ended before the next consumer accepted
	reasonShutdown    = "shutdown"  // the receiver stopped during the hold
	reasonBusy        = "busy"      // max_concurrent_requests requests in progress
	reasonAdmission   = "admission" // the body or its records over what max_in_flight_bytes leaves
)

// webhookHandler serves Flipt's webhook sink: one event per POST, plus JSON
// arrays and NDJSON from other senders. It answers 200 only once the next
// consumer has accepted every record of the request.
type webhookHandler struct {
	path, healthPath string
	secret           []byte  // nil: no signature check
	signer           *signer // of secret
	dedup            *dedupWindow
	telemetry        *metadata.TelemetryBuilder
	limits           auditevent.Limits
	// consume hands the decoded records on and returns the next consumer's
	// error.
	consume func(ctx context.Context, ld plog.Logs) error
	now     func() time.Time

	// hold bounds the wait for the next consumer; grace is how much longer
	// a consumer past its hold is waited for before the answer goes out.
	hold, grace time.Duration
	// stopping ends every hold at Shutdown (stop cancels it).
	stopping       context.Context
	cancelStopping context.CancelCauseFunc
	health         *pipelineHealth // nil: the health path always answers ok
	sigWarn        *signatureWarner
	admit          *admission
	maxBody        int64           // max_request_body_size as confighttp applies it
	runners        *handOffRunners // HTTP/2's hand-offs; nil: a goroutine per hand-off
	inflight       *inflight
}

func newWebhookHandler(cfg *WebhookConfig, tb *metadata.TelemetryBuilder, consume func(context.Context, plog.Logs) error) *webhookHandler {
	h := &webhookHandler{
		path:       cfg.Path,
		healthPath: cfg.HealthPath,
		telemetry:  tb,
		consume:    consume,
		now:        time.Now,
		hold:       cfg.HoldTimeout,
		grace:      cfg.answerGrace(),
		limits:     auditevent.DefaultLimits(),
	}
	if h.hold <= 0 {
		h.hold, h.grace = defaultHoldTimeout, minAnswerMargin
	}
	maxRequests, maxBytes := int64(cfg.MaxConcurrentRequests), cfg.MaxInFlightBytes
	if maxRequests <= 0 {
		maxRequests = defaultMaxConcurrentRequests
	}
	if maxBytes <= 0 {
		maxBytes = defaultMaxInFlightBytes
	}
	h.admit = newAdmission(maxRequests, maxBytes, cfg.AdmissionWait)
	h.maxBody = cfg.MaxRequestBodySize
	if h.maxBody <= 0 {
		h.maxBody = confighttpDefaultMaxBody
	}
	if tb != nil {
		h.admit.changed = func(d int64) { tb.FliptAuditWebhookInFlightBytes.Add(context.Background(), d) }
	}
	h.stopping, h.cancelStopping = context.WithCancelCause(context.Background())
	h.inflight = newInflight(h.grace, h.answerLate)
	h.sigWarn = &signatureWarner{logger: zap.NewNop(), now: func() time.Time { return h.now() }}
	if cfg.SigningSecret != "" {
		h.secret = []byte(cfg.SigningSecret)
		h.signer = newSigner(h.secret)
	}
	if cfg.DedupWindow > 0 {
		h.dedup = newDedupWindow(cfg.DedupWindow, cfg.DedupMaxEntries)
	}
	return h
}

// stop ends every hold with cause, and has the answers of those whose
// consumer does not return go out grace later.
func (h *webhookHandler) stop(cause error) {
	h.cancelStopping(cause)
	h.inflight.stop(h.grace)
}

func (h *webhookHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.inflight.enter()
	orphan := false
	defer func() { h.inflight.leave(orphan) }()
	switch r.URL.Path {
	case h.path:
		orphan = h.serveEvents(w, r)
	case h.healthPath:
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			h.refuse(w, r, http.StatusMethodNotAllowed, reasonMethod, "use GET")
			return
		}
		if since, failing := h.health.failing(); failing {
			// Only the reason: the pipeline's error can name files and hosts.
			writeReason(w, http.StatusServiceUnavailable, "not ready: the pipeline has refused every hand-off since "+
				since.UTC().Format(time.RFC3339)+" (retryable error); ok again once one is accepted")
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok\n")
	default:
		http.NotFound(w, r)
	}
}

// serveEvents answers a request of events; true says the consumer still
// ran when its watchdog answered.
func (h *webhookHandler) serveEvents(w http.ResponseWriter, r *http.Request) (orphan bool) {
	// The hold starts with the handler, as the server's write deadline does
	// (net/http sets it once the headers are read), so reading the body
	// counts against it too. It ends at Shutdown too, and when the sender
	// goes away (which handOff watches over HTTP/2).
	hold := newHold(r.Context(), h.stopping, h.hold)
	defer hold.cancel()
	inline := r.ProtoMajor == 1 // see watchdog.go
	if inline {
		hold.followRequest()
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.refuse(w, r, http.StatusMethodNotAllowed, reasonMethod, "use POST")
		return
	}
	if !acceptedContentType(r.Header.Get("Content-Type")) {
		h.refuse(w, r, http.StatusUnsupportedMediaType, reasonContentType,
			"Content-Type must be application/json or application/x-ndjson")
		return
	}
	// Without a signature the body need not be read to be refused.
	var sig string
	if h.secret != nil {
		sig = r.Header.Get(signatureHeader)
	}
	if h.secret != nil && sig == "" {
		h.sigWarn.refused(r.RemoteAddr)
		h.refuseUnread(w, r, http.StatusUnauthorized, reasonSignature, "missing "+signatureHeader)
		return
	}
	// The wait for a slot counts against the hold.
	if !h.admit.enter(hold) {
		w.Header().Set("Retry-After", retryAfterUnavailable)
		h.refuseUnread(w, r, http.StatusServiceUnavailable, reasonBusy,
			fmt.Sprintf("busy: max_concurrent_requests %d requests in progress (waited admission_wait %s); retry later",
				h.admit.maxRequests, h.admit.wait))
		return
	}
	defer h.admit.leave()
	t := ticket{a: h.admit}
	defer t.done()
	body, err := t.readBody(r, h.maxBody)
	if err != nil {
		var tooLarge *http.MaxBytesError
		switch {
		case errors.As(err, &tooLarge):
			h.refuseUnread(w, r, http.StatusRequestEntityTooLarge, reasonTooLarge,
				fmt.Sprintf("request body too large: over max_request_body_size %d", tooLarge.Limit))
		case errors.Is(err, errOverBudget):
			w.Header().Set("Retry-After", retryAfterUnavailable)
			h.refuseUnread(w, r, http.StatusServiceUnavailable, reasonAdmission, overBudgetMessage(h.admit.maxBytes))
		default:
			h.refuse(w, r, http.StatusBadRequest, reasonMalformed, "reading body: "+err.Error())
		}
		return
	}
	if h.secret != nil && !h.signer.valid(body, sig) {
		h.sigWarn.refused(r.RemoteAddr)
		h.refuse(w, r, http.StatusUnauthorized, reasonSignature, "missing or invalid "+signatureHeader)
		return
	}
	var key [sha256.Size]byte
	if h.dedup != nil {
		if key = sha256.Sum256(body); h.dedup.seenRecently(key) {
			h.telemetry.FliptAuditDuplicatesSuppressed.Add(r.Context(), 1)
			w.WriteHeader(http.StatusOK)
			return
		}
	}

	// The scan refuses what it can before a record is built, and tells
	// what building will cost, which must fit in the budget too.
	checked, err := h.limits.Check(body)
	if err == nil && !t.reserveTree(checked.Elements, len(body)) {
		w.Header().Set("Retry-After", retryAfterUnavailable)
		h.refuse(w, r, http.StatusServiceUnavailable, reasonAdmission, overBudgetMessage(h.admit.maxBytes))
		return
	}
	var ld plog.Logs
	if err == nil {
		ld, err = decodeWebhookBody(checked, pcommon.NewTimestampFromTime(h.now()))
	}
	if err != nil {
		code, reason := decodeRefusal(err)
		h.refuse(w, r, code, reason, err.Error())
		return
	}
	h.telemetry.FliptAuditEventsReceived.Add(r.Context(), int64(ld.LogRecordCount()), sourceWebhook...)
	var remember func(error)
	if h.dedup != nil {
		k := key // only this branch pays for the closure's copy
		remember = func(err error) {
			// Also after a late success: Flipt's retry of a request
			// answered 503 is then a duplicate the window can suppress.
			if err == nil {
				h.dedup.remember(k)
			}
		}
	}
	if inline {
		d := h.inflight.arm(w, r, hold, h.grace)
		err = h.consume(hold, ld)
		if remember != nil {
			remember(err)
		}
		if !h.inflight.disarm(d) {
			return true
		}
	} else {
		err = handOff(hold, r.Context().Done(), h.runners, h.consume, ld, h.grace, remember)
	}
	if err != nil {
		h.answerFailed(w, r, hold, err)
		return
	}
	w.WriteHeader(http.StatusOK)
	return false
}

// answerFailed answers a hand-off that failed with err.
func (h *webhookHandler) answerFailed(w http.ResponseWriter, r *http.Request, hold *holdCtx, err error) {
	code, retryAfter := downstreamStatus(err)
	if retryAfter != "" {
		w.Header().Set("Retry-After", retryAfter)
	}
	reason, msg := reasonDownstream, downstreamMessage(code)
	switch {
	case code != http.StatusServiceUnavailable:
	case errors.Is(context.Cause(h.stopping), errStopping) && hold.Err() != nil:
		reason, msg = reasonShutdown, "the collector is shutting down; retry later"
	case errors.Is(hold.Err(), context.DeadlineExceeded):
		reason, msg = reasonTimeout, "not accepted by the pipeline within hold_timeout; retry later"
	}
	// The pipeline's error can name files and hosts; the sender only needs
	// to know whether to retry.
	h.refuse(w, r, code, reason, msg)
}

// decodeWebhookBody turns a checked request body into records, all or
// nothing.
func decodeWebhookBody(body auditevent.Checked, observed pcommon.Timestamp) (plog.Logs, error) {
	ld := plog.NewLogs()
	sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	sl.Scope().SetName(metadata.ScopeName)
	records := sl.LogRecords()
	records.EnsureCapacity(body.Events) // a batch's records without growing the slice
	_, err := body.DecodeRecords(records.AppendEmpty, auditevent.SourceWebhook, observed)
	return ld, err
}

// decodeRefusal is the answer to a body that does not decode. Over
// max_elements is 413, as over max_request_body_size: it counts the
// body's size in values, and the same body would be refused again, so
// Flipt must not retry it (it retries no 4xx but 429). A body over
// max_depth or max_members, or malformed, is 400.
func decodeRefusal(err error) (code int, reason string) {
	var le *auditevent.LimitError
	switch {
	case errors.As(err, &le) && le.Limit == "max_elements":
		return http.StatusRequestEntityTooLarge, reasonLimit
	case errors.As(err, &le):
		return http.StatusBadRequest, reasonLimit
	case errors.Is(err, auditevent.ErrNotEvent):
		return http.StatusBadRequest, reasonNotEvent
	}
	return http.StatusBadRequest, reasonMalformed
}

// acceptedContentType accepts JSON (what Flipt sends) and NDJSON.
func acceptedContentType(v string) bool {
	if v == "application/json" { // what Flipt sends, without parsing
		return true
	}
	mt, _, err := mime.ParseMediaType(v)
	if err != nil {
		return false
	}
	switch mt {
	case "application/json", "application/x-ndjson", "application/ndjson", "application/jsonl":
		return true
	}
	return false
}

// refuse answers an error with a one-line reason and counts it.
func (h *webhookHandler) refuse(w http.ResponseWriter, r *http.Request, code int, reason, msg string) {
	h.telemetry.FliptAuditRequestsRefused.Add(r.Context(), 1, metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", reason))))
	writeReason(w, code, msg)
}

// refuseUnread refuses a request whose body is left unread, and closes
// the connection after the answer: net/http would otherwise read up to
// 256 KiB of the body first, waiting on a sender that stalls.
func (h *webhookHandler) refuseUnread(w http.ResponseWriter, r *http.Request, code int, reason, msg string) {
	w.Header().Set("Connection", "close")
	h.refuse(w, r, code, reason, msg)
}

// errorHandler answers the errors confighttp raises before the handler
// runs (authentication, undecodable Content-Encoding).
func (h *webhookHandler) errorHandler(w http.ResponseWriter, r *http.Request, msg string, code int) {
	reason := reasonMalformed
	switch code {
	case http.StatusUnauthorized:
		reason = reasonAuth
	case http.StatusRequestEntityTooLarge:
		reason = reasonTooLarge
	}
	h.refuse(w, r, code, reason, msg)
}

// writeReason sends its length too: a watchdog's answer must be whole on
// the wire before its handler returns.
func writeReason(w http.ResponseWriter, code int, msg string) {
	line := oneLine(msg) + "\n"
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Length", strconv.Itoa(len(line)))
	w.WriteHeader(code)
	_, _ = io.WriteString(w, line)
}

// oneLine makes msg a single printable line of valid UTF-8.
func oneLine(msg string) string {
	msg = strings.ToValidUTF8(msg, "\uFFFD")
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, msg)
}

// sourceWebhook is a slice made once: passing the option alone would make
// one per call.
var sourceWebhook = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(attribute.String("source", auditevent.SourceWebhook)))}
