package auditevent

import (
	"fmt"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// SpanEventName is the name of the span events in which Flipt carries its
// audit events.
const SpanEventName = "event"

// Span event attributes, one per event field, all strings.
const (
	spanAttrVersion   = "flipt.event.version"
	spanAttrType      = "flipt.event.type"
	spanAttrAction    = "flipt.event.action"
	spanAttrStatus    = "flipt.event.status"
	spanAttrTimestamp = "flipt.event.timestamp"
	spanAttrActor     = "flipt.event.metadata.actor"
	spanAttrPayload   = "flipt.event.payload"
)

// zipkinPrefix starts the name of an audit span event that came through
// Zipkin: OpenTelemetry's Zipkin exporter writes an event as the annotation
// "<name>: <attributes as a JSON object>", and the collector's zipkin
// receiver turns that annotation back into an event with that whole string
// as its name and no attributes.
const zipkinPrefix = SpanEventName + ": {"

// IsAuditSpanEvent reports whether ev carries a Flipt audit event, as sent
// over OTLP or Jaeger (an event named "event" with flipt.event.*
// attributes) or over Zipkin (the attributes folded into the name).
func IsAuditSpanEvent(ev ptrace.SpanEvent) bool {
	if name := ev.Name(); name != SpanEventName {
		return strings.HasPrefix(name, zipkinPrefix) && strings.Contains(name, `"`+spanAttrVersion+`"`)
	}
	_, ok := ev.Attributes().Get(spanAttrVersion)
	return ok
}

// spanEventAttributes returns the event's flipt.event.* attributes, unfolding
// them from the name of an event that came through Zipkin.
func spanEventAttributes(lim Limits, ev ptrace.SpanEvent) (pcommon.Map, error) {
	name := ev.Name()
	if !strings.HasPrefix(name, zipkinPrefix) {
		return ev.Attributes(), nil
	}
	attrs := pcommon.NewMap()
	data := bytesOf(name[len(SpanEventName)+2:])
	s := newScanner(data, lim)
	err := s.object(1, nil)
	if err == nil {
		err = s.end("attributes")
	}
	if err == nil {
		d := decoder{data: data, lim: lim, facts: s.facts}
		if err = d.object(attrs, 1); err == nil {
			err = d.end("attributes")
		}
	}
	if err != nil {
		return attrs, fmt.Errorf("%w: Zipkin annotation: %w", ErrNotEvent, err)
	}
	return attrs, nil
}

// RecordFromSpanEvent rebuilds the audit event carried by ev into lr,
// exactly as Flipt's own sinks decode it: the actor and payload JSON strings
// become objects, payload keys sorted (Flipt round-trips the payload through
// a Go map), a missing payload null. The record is linked to span. The
// actor and payload must each be one JSON value, as the webhook's body must
// be one event. It applies the default Limits, counting depth in the
// rebuilt event as for the other sources.
func RecordFromSpanEvent(span ptrace.Span, ev ptrace.SpanEvent, lr plog.LogRecord, observed pcommon.Timestamp) error {
	return recordFromSpanEvent(DefaultLimits(), span, ev, lr, observed)
}

// Depths of the actor and payload values in the rebuilt event.
const (
	depthActor   = 2 // event > metadata > actor
	depthPayload = 1 // event > payload
)

func recordFromSpanEvent(lim Limits, span ptrace.Span, ev ptrace.SpanEvent, lr plog.LogRecord, observed pcommon.Timestamp) error {
	attrs, err := spanEventAttributes(lim, ev)
	if err != nil {
		return err
	}
	wide, err := scanSpanEvent(lim, attrs)
	if err != nil {
		return err
	}
	str := func(k string) (string, bool, error) {
		v, ok := attrs.Get(k)
		if !ok {
			return "", false, nil
		}
		if v.Type() != pcommon.ValueTypeStr {
			return "", false, fmt.Errorf("%w: span event attribute %q is not a string", ErrNotEvent, k)
		}
		return v.Str(), true, nil
	}

	body := lr.Body().SetEmptyMap()
	body.EnsureCapacity(7)
	for _, f := range [...]struct{ key, attr string }{
		{KeyVersion, spanAttrVersion}, {KeyType, spanAttrType}, {KeyAction, spanAttrAction}, {KeyStatus, spanAttrStatus},
	} {
		s, ok, err := str(f.attr)
		if err != nil {
			return err
		}
		if ok {
			body.PutStr(f.key, s)
		}
	}
	metadata := body.PutEmptyMap(KeyMetadata)
	actor, ok, err := str(spanAttrActor)
	if err != nil {
		return err
	}
	if ok {
		d := decoder{data: bytesOf(actor), lim: lim, facts: wide[0]}
		if err := d.oneValue(metadata.PutEmpty(KeyActor), depthActor); err != nil {
			return fmt.Errorf("%s: %w", spanAttrActor, err)
		}
	}
	payload := body.PutEmpty(KeyPayload)
	if p, ok, err := str(spanAttrPayload); err != nil {
		return err
	} else if ok {
		d := decoder{data: bytesOf(p), sortKeys: true, lim: lim, facts: wide[1]}
		if err := d.oneValue(payload, depthPayload); err != nil {
			return fmt.Errorf("%s: %w", spanAttrPayload, err)
		}
	}
	ts, ok, err := str(spanAttrTimestamp)
	if err != nil {
		return err
	}
	if ok {
		body.PutStr(KeyTimestamp, ts)
	}
	if err := Fill(lr, SourceTrace, observed); err != nil {
		return err
	}
	lr.SetTraceID(span.TraceID())
	lr.SetSpanID(span.SpanID())
	lr.SetFlags(plog.DefaultLogRecordFlags.WithIsSampled(span.Flags()&0x1 == 0x1))
	return nil
}

// scanSpanEvent checks the actor and payload strings against the limits,
// one max_elements budget for both, before either is built, and returns
// what the scans learnt for the decoders.
func scanSpanEvent(lim Limits, attrs pcommon.Map) (wide [2]scanFacts, err error) {
	elements := 0
	for i, f := range [...]struct {
		attr  string
		depth int
	}{{spanAttrActor, depthActor}, {spanAttrPayload, depthPayload}} {
		v, ok := attrs.Get(f.attr)
		if !ok || v.Type() != pcommon.ValueTypeStr {
			continue // absent, or refused as not a string below
		}
		s := newScanner(bytesOf(v.Str()), lim)
		s.elements = elements
		if err := s.oneValue(f.depth); err != nil {
			return wide, fmt.Errorf("%s: %w", f.attr, err)
		}
		elements, wide[i] = s.elements, s.facts
	}
	return wide, nil
}
