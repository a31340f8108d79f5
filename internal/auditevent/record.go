package auditevent

import (
	"errors"
	"fmt"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// EventError says why a JSON value is not an audit event, and which one.
type EventError struct {
	// Index is the position of the event in a multi-event body, or -1.
	Index int
	Err   error
}

func (e *EventError) Error() string {
	if e.Index < 0 {
		return e.Err.Error()
	}
	return fmt.Sprintf("event %d: %v", e.Index, e.Err)
}

func (e *EventError) Unwrap() error { return e.Err }

// ErrNotEvent is wrapped by errors about well-formed JSON that is not an
// audit event (missing or mistyped fields).
var ErrNotEvent = errors.New("not a Flipt audit event")

// DecodeRecord decodes data, which must hold exactly one JSON object, into
// lr: the event becomes the body and Fill sets the rest. It applies the
// default Limits.
func DecodeRecord(data []byte, lr plog.LogRecord, source string, observed pcommon.Timestamp) error {
	return DefaultLimits().DecodeRecord(data, lr, source, observed)
}

func (d *decoder) oneRecord(lr plog.LogRecord, source string, observed pcommon.Timestamp) error {
	if err := d.record(lr, source, observed); err != nil {
		return err
	}
	return d.end("event")
}

// record decodes one event object at d.pos into lr.
func (d *decoder) record(lr plog.LogRecord, source string, observed pcommon.Timestamp) error {
	d.skipSpace()
	if d.pos >= len(d.data) || d.data[d.pos] != '{' {
		if d.pos >= len(d.data) {
			return d.fail("empty body, expected an audit event object")
		}
		return d.fail("expected an audit event object")
	}
	if err := d.object(lr.Body().SetEmptyMap(), 1); err != nil {
		return err
	}
	return Fill(lr, source, observed)
}

// DecodeRecords decodes a body that holds one event, a JSON array of events,
// or events one after another (NDJSON). It appends one record per event to
// records, each from newRecord; on error the caller should discard them all.
// Errors name the index of the failing event. It applies the default
// Limits.
func DecodeRecords(data []byte, newRecord func() plog.LogRecord, source string, observed pcommon.Timestamp) (int, error) {
	return DefaultLimits().DecodeRecords(data, newRecord, source, observed)
}

func (d *decoder) allRecords(newRecord func() plog.LogRecord, source string, observed pcommon.Timestamp) (int, error) {
	d.skipSpace()
	if d.pos < len(d.data) && d.data[d.pos] == '[' {
		return d.records(newRecord, source, observed)
	}
	n := 0
	for {
		d.skipSpace()
		if d.pos >= len(d.data) {
			if n == 0 {
				return 0, &EventError{Index: -1, Err: d.fail("empty body, expected an audit event")}
			}
			return n, nil
		}
		if err := d.record(newRecord(), source, observed); err != nil {
			return n, &EventError{Index: n, Err: err}
		}
		n++
	}
}

// records decodes a JSON array of events.
func (d *decoder) records(newRecord func() plog.LogRecord, source string, observed pcommon.Timestamp) (int, error) {
	d.pos++ // '['
	n := 0
	for {
		d.skipSpace()
		if d.pos >= len(d.data) {
			return n, &EventError{Index: n, Err: d.fail("unexpected end of input in array")}
		}
		if d.data[d.pos] == ']' && n == 0 {
			return 0, &EventError{Index: -1, Err: d.fail("empty array, expected audit events")}
		}
		if n > 0 {
			switch d.data[d.pos] {
			case ']':
				d.pos++
				d.skipSpace()
				if d.pos != len(d.data) {
					return n, &EventError{Index: -1, Err: d.fail("unexpected data after the array")}
				}
				return n, nil
			case ',':
				d.pos++
			default:
				return n, &EventError{Index: n, Err: d.fail("expected ',' or ']' in array")}
			}
		}
		if err := d.record(newRecord(), source, observed); err != nil {
			return n, &EventError{Index: n, Err: err}
		}
		n++
	}
}

// Fill validates the event in lr's body and sets the record's timestamp,
// severity, event name and query attributes from it.
func Fill(lr plog.LogRecord, source string, observed pcommon.Timestamp) error {
	body := lr.Body().Map()
	// One pass over the body's members instead of a lookup (a scan of
	// them) per field; the first of equal keys wins, as Get would have it.
	var fields [4]pcommon.Value
	var found [4]bool
	var statusV, metaV pcommon.Value
	var hasStatus, hasMeta bool
	for k, v := range body.All() {
		i := requiredIndex(k)
		switch {
		case i >= 0:
		case k == KeyStatus:
			if !hasStatus {
				statusV, hasStatus = v, true
			}
		case k == KeyMetadata:
			if !hasMeta {
				metaV, hasMeta = v, true
			}
		}
		if i >= 0 && !found[i] {
			fields[i], found[i] = v, true
		}
	}
	var strs [4]string
	for i, k := range [...]string{KeyVersion, KeyType, KeyAction, KeyTimestamp} {
		if !found[i] {
			return fmt.Errorf("%w: missing %q", ErrNotEvent, k)
		}
		if v := fields[i]; v.Type() != pcommon.ValueTypeStr || v.Str() == "" {
			return fmt.Errorf("%w: %q must be a non-empty string", ErrNotEvent, k)
		}
		strs[i] = fields[i].Str()
	}
	ts, err := parseStamp(strs[3])
	if err != nil {
		return fmt.Errorf("%w: timestamp %q is not RFC 3339", ErrNotEvent, strs[3])
	}
	status := ""
	if hasStatus {
		if statusV.Type() != pcommon.ValueTypeStr {
			return fmt.Errorf("%w: %q must be a string", ErrNotEvent, KeyStatus)
		}
		status = statusV.Str()
	}
	var actor pcommon.Map
	if hasMeta {
		switch metaV.Type() {
		case pcommon.ValueTypeMap:
			if a, ok := metaV.Map().Get(KeyActor); ok {
				switch a.Type() {
				case pcommon.ValueTypeMap:
					actor = a.Map()
				case pcommon.ValueTypeEmpty:
				default:
					return fmt.Errorf("%w: metadata.actor must be an object", ErrNotEvent)
				}
			}
		case pcommon.ValueTypeEmpty:
		default:
			return fmt.Errorf("%w: %q must be an object", ErrNotEvent, KeyMetadata)
		}
	}

	lr.SetTimestamp(pcommon.NewTimestampFromTime(ts))
	lr.SetObservedTimestamp(observed)
	lr.SetEventName(EventName)
	if status == StatusDenied {
		lr.SetSeverityNumber(plog.SeverityNumberWarn)
		lr.SetSeverityText("WARN")
	} else {
		lr.SetSeverityNumber(plog.SeverityNumberInfo)
		lr.SetSeverityText("INFO")
	}
	attrs := lr.Attributes()
	attrs.EnsureCapacity(8)
	attrs.PutStr(AttrVersion, strs[0])
	attrs.PutStr(AttrType, strs[1])
	attrs.PutStr(AttrAction, strs[2])
	if status != "" {
		attrs.PutStr(AttrStatus, status)
	}
	if actor != (pcommon.Map{}) {
		putActor(attrs, actor)
	}
	if source != "" {
		attrs.PutStr(AttrSource, source)
	}
	return nil
}

// putActor copies the actor's string fields to their attributes; legacy
// actors (a free map before Flipt v1.39) keep only what matches.
func putActor(attrs, actor pcommon.Map) {
	for k, v := range actor.All() {
		if v.Type() != pcommon.ValueTypeStr || v.Str() == "" {
			continue
		}
		switch k {
		case "authentication":
			attrs.PutStr(AttrAuthentication, v.Str())
		case "ip":
			attrs.PutStr(AttrActorIP, v.Str())
			first, _, _ := strings.Cut(v.Str(), ",")
			attrs.PutStr(AttrClientAddress, strings.TrimSpace(first))
		case "email":
			attrs.PutStr(AttrActorEmail, v.Str())
		case "name":
			attrs.PutStr(AttrActorName, v.Str())
		case "picture":
			attrs.PutStr(AttrActorPicture, v.Str())
		}
	}
}

// Body returns the event map of an audit record made by this package, and
// false for any other record.
func Body(lr plog.LogRecord) (pcommon.Map, bool) {
	if lr.EventName() != EventName || lr.Body().Type() != pcommon.ValueTypeMap {
		return pcommon.Map{}, false
	}
	m := lr.Body().Map()
	if v, ok := m.Get(KeyVersion); !ok || v.Type() != pcommon.ValueTypeStr {
		return pcommon.Map{}, false
	}
	return m, true
}
