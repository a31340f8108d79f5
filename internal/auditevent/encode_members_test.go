package auditevent

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
)

// appendPlain is Append as plainly written: Map.Get for each known key in
// order, then the others in received order, each key quoted on the spot,
// every value through the type switch.
func appendPlain(dst []byte, body pcommon.Map, f Format) []byte {
	order := []string{KeyVersion, KeyType, KeyAction, KeyStatus, KeyMetadata, KeyPayload, KeyTimestamp}
	webhook := []string{KeyVersion, KeyType, KeyAction, KeyMetadata, KeyPayload, KeyTimestamp, KeyStatus}
	escapeHTML, sep, colon := false, ",", ":"
	switch f {
	case FormatWebhook:
		order, escapeHTML = webhook, true
	case FormatConsole:
		sep, colon = ", ", ": "
	}
	if v, ok := body.Get(KeyVersion); ok && v.Type() == pcommon.ValueTypeStr && v.Str() == versionLegacy {
		order, escapeHTML = webhook, true
	}
	dst = append(dst, '{')
	n := 0
	member := func(k string, v pcommon.Value) {
		if n > 0 {
			dst = append(dst, sep...)
		}
		n++
		dst = appendString(dst, k, escapeHTML)
		dst = append(dst, colon...)
		dst = appendPlainValue(dst, v, escapeHTML)
	}
	for _, k := range order {
		if v, ok := body.Get(k); ok {
			member(k, v)
		}
	}
	for k, v := range body.All() {
		if keyIndex(k) < 0 {
			member(k, v)
		}
	}
	return append(dst, '}')
}

func appendPlainValue(dst []byte, v pcommon.Value, escapeHTML bool) []byte {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return appendString(dst, v.Str(), escapeHTML)
	case pcommon.ValueTypeMap:
		dst = append(dst, '{')
		first := true
		for k, mv := range v.Map().All() {
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = appendString(dst, k, escapeHTML)
			dst = append(dst, ':')
			dst = appendPlainValue(dst, mv, escapeHTML)
		}
		return append(dst, '}')
	case pcommon.ValueTypeSlice:
		dst = append(dst, '[')
		for i, sv := range v.Slice().All() {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendPlainValue(dst, sv, escapeHTML)
		}
		return append(dst, ']')
	}
	return appendValue(dst, v, escapeHTML) // numbers, bools, bytes, empty
}

// Append's one walk over the body, its quoted key table and its string
// check before the type switch give what the plain layout gives: on every
// captured event and on bodies the decoder does not make (keys Flipt does
// not know among its own, a legacy or non-string version, empty strings, every value type), in all three formats.
func TestAppendEqualsPlainLayout(t *testing.T) {
	var bodies []pcommon.Map
	for _, l := range fliptcapture.Lines(t, "audit.log") {
		b, _ := Body(decode(t, l))
		bodies = append(bodies, b)
	}
	odd := func(fill func(m pcommon.Map)) {
		m := pcommon.NewMap()
		fill(m)
		bodies = append(bodies, m)
	}
	odd(func(m pcommon.Map) {})
	odd(func(m pcommon.Map) {
		m.PutStr("zeta", "first")
		m.PutStr(KeyTimestamp, "2026-01-01T00:00:00Z")
		m.PutInt("n", 7)
		m.PutStr(KeyVersion, "0.2")
		m.PutStr(KeyStatus, "")
		p := m.PutEmptyMap(KeyPayload)
		p.PutStr("", "")
		p.PutBool("b", true)
		p.PutDouble("f", 1e-7)
		p.PutEmptyBytes("raw").FromRaw([]byte("<&>"))
		s := p.PutEmptySlice("s")
		s.AppendEmpty().SetStr("x")
		s.AppendEmpty()
		s.AppendEmpty().SetEmptyMap().PutStr("k", "<v>")
		m.PutEmpty("nil")
	})
	odd(func(m pcommon.Map) {
		m.PutStr(KeyVersion, versionLegacy)
		m.PutStr(KeyType, "flag")
		m.PutStr(KeyStatus, "success")
		m.PutStr("extra", "a & b")
		m.PutStr(KeyAction, "created")
	})
	odd(func(m pcommon.Map) { m.PutInt(KeyVersion, 1); m.PutStr(KeyType, "t") })
	for _, f := range []Format{FormatJSON, FormatConsole, FormatWebhook} {
		for i, b := range bodies {
			want, got := string(appendPlain(nil, b, f)), string(Append(nil, b, f))
			if got != want {
				t.Errorf("%v, body %d:\n got %s\nwant %s", f, i, got, want)
			}
		}
	}
}
