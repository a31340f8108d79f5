package fliptencodingextension

import (
	"encoding/binary"
	"fmt"
	"math"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/otelcol-flipt/otelcol-flipt/internal/auditevent"
)

// Union branches of event.avsc's payload values.
const (
	avroNull = iota
	avroString
	avroInt
	avroBoolean
	avroFloat
	avroDouble
	avroMap // top level only
)

// avroReader reads Avro's binary encoding from a byte slice.
type avroReader struct {
	b   []byte
	err error
}

func (r *avroReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("avro: "+format, args...)
	}
}

// long reads a zig-zag varint (int and long share the encoding).
func (r *avroReader) long() int64 {
	if r.err != nil {
		return 0
	}
	v, n := protowire.ConsumeVarint(r.b)
	if n < 0 {
		r.fail("truncated or invalid varint")
		return 0
	}
	r.b = r.b[n:]
	return protowire.DecodeZigZag(v)
}

func (r *avroReader) str(field string) string {
	n := r.long()
	if r.err != nil {
		return ""
	}
	if n < 0 || n > int64(len(r.b)) {
		r.fail("%s: string length %d beyond the value", field, n)
		return ""
	}
	s := r.b[:n]
	r.b = r.b[n:]
	if !utf8.Valid(s) {
		r.fail("%s: not valid UTF-8", field)
		return ""
	}
	return string(s)
}

func (r *avroReader) fixed(n int) []byte {
	if r.err != nil {
		return nil
	}
	if len(r.b) < n {
		r.fail("truncated value")
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

// mapEntries calls entry once per map entry, across blocks; a negative
// block count is followed by the block's size in bytes, which Avro lets a
// reader skip by and Flipt's encoder writes.
func (r *avroReader) mapEntries(field string, entry func(key string)) {
	for r.err == nil {
		count := r.long()
		if count == 0 || r.err != nil {
			return
		}
		if count < 0 {
			count = -count
			r.long() // block size in bytes
		}
		if count > int64(len(r.b)) { // every entry takes at least 2 bytes
			r.fail("%s: map block of %d entries beyond the value", field, count)
			return
		}
		for range count {
			key := r.str(field + " key")
			if r.err != nil {
				return
			}
			entry(key)
		}
	}
}

// decodeAvro reads Avro binary of Flipt's event.avsc (record "event")
// into lr's body.
func decodeAvro(b []byte, lr plog.LogRecord) error {
	r := &avroReader{b: b}
	var ev event
	ev.version = r.str("version")
	ev.typ = r.str("type")
	ev.action = r.str("action")
	switch actor := r.long(); {
	case r.err != nil:
	case actor == 1:
		for i := range ev.actor {
			ev.actor[i] = r.str("metadata.actor." + actorKeys[i])
		}
		ev.hasActor = true
	case actor != 0:
		r.fail("metadata.actor: union index %d (want 0 or 1)", actor)
	}
	ev.timestamp, ev.hasTimestamp = r.str("timestamp"), true
	ev.status, ev.hasStatus = r.str("status"), true
	// Flipt writes a missing payload as an empty map too; see the README.
	ev.payload, ev.hasPayload = pcommon.NewValueEmpty(), true
	r.payload(ev.payload.SetEmptyMap())
	if r.err != nil {
		return r.err
	}
	if len(r.b) != 0 {
		return fmt.Errorf("avro: %d bytes after the event", len(r.b))
	}
	ev.build(lr)
	return nil
}

// payload reads the payload map. Flipt wrote each top-level object or
// array as its encoding/json text; it is read back into the nested value
// the log sink writes, with sorted keys.
func (r *avroReader) payload(dst pcommon.Map) {
	var members []member
	r.mapEntries("payload", func(key string) {
		m := member{key: key, val: pcommon.NewValueEmpty()}
		r.value(m.val, true, key != keyAttachment)
		members = append(members, m)
	})
	if r.err == nil {
		sortedInto(dst, members)
	}
}

// keyAttachment is a variant's attachment: a JSON document that Flipt's
// API itself carries as a string, so it stays one.
const keyAttachment = "attachment"

// value reads one payload value; top allows the nested map branch, and
// text a string read back as the object or array Flipt turned into text.
func (r *avroReader) value(dst pcommon.Value, top, text bool) {
	switch branch := r.long(); {
	case r.err != nil:
	case branch == avroNull:
	case branch == avroString:
		s := r.str("payload string")
		if text && isFliptJSON(s, dst) {
			return
		}
		dst.SetStr(s)
	case branch == avroInt:
		dst.SetInt(r.long())
	case branch == avroBoolean:
		if v := r.fixed(1); v != nil {
			if v[0] > 1 {
				r.fail("payload: boolean byte %d", v[0])
			}
			dst.SetBool(v[0] == 1)
		}
	case branch == avroFloat:
		if v := r.fixed(4); v != nil {
			dst.SetDouble(float64(math.Float32frombits(binary.LittleEndian.Uint32(v))))
		}
	case branch == avroDouble:
		if v := r.fixed(8); v != nil {
			dst.SetDouble(math.Float64frombits(binary.LittleEndian.Uint64(v)))
		}
	case branch == avroMap && top:
		var members []member
		r.mapEntries("payload map", func(key string) {
			m := member{key: key, val: pcommon.NewValueEmpty()}
			r.value(m.val, false, false)
			members = append(members, m)
		})
		if r.err == nil {
			sortedInto(dst.SetEmptyMap(), members)
		}
	default:
		r.fail("payload: union index %d out of range", branch)
	}
}

// isFliptJSON reads s into dst if it is an object or array as Flipt's
// encoder turned one into text: encoding/json's exact bytes (sorted keys,
// compact, HTML-escaped). Avro keeps no mark of that, so a payload string
// of Flipt's API that is itself such text (other than a variant's
// attachment) would be read as the value; any other string, "[1, 2]" with
// its space say, stays a string.
func isFliptJSON(s string, dst pcommon.Value) bool {
	if len(s) < 2 || !(s[0] == '{' && s[len(s)-1] == '}' || s[0] == '[' && s[len(s)-1] == ']') {
		return false
	}
	v := pcommon.NewValueEmpty()
	if auditevent.DefaultLimits().DecodePayloadValue([]byte(s), v) != nil {
		return false
	}
	if string(auditevent.AppendValue(nil, v, true)) != s {
		return false
	}
	v.MoveTo(dst)
	return true
}
