package auditfile

import (
	"strconv"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-flipt/otelcol-flipt/internal/auditevent"
)

// encoder turns log records into lines.
type encoder struct {
	format    auditevent.Format
	skipOther bool
	// merging: note the key of every audit event with a source, for the
	// merge decision the committer makes later (see merge.go).
	merging bool
}

// appendLogs appends one line per record of ld to b.buf, counting records
// encoded and skipped; with merging it notes the key of every line the merge
// decides on in b.spans.
func (e encoder) appendLogs(b *batch, ld plog.Logs) {
	dst := b.buf
	for _, rl := range ld.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				if body, ok := auditevent.Body(lr); ok {
					start := len(dst)
					dst = auditevent.Append(dst, body, e.format)
					if e.merging {
						if src := sourceOf(lr); src >= 0 {
							b.spans = append(b.spans, span{
								start: start, end: len(dst) + 1, src: src,
								key: b.keyOf(body, dst[start:], e.format),
							})
						}
					}
				} else if e.skipOther {
					b.skipped++
					continue
				} else {
					dst = appendOther(dst, lr, rl.Resource())
				}
				dst = append(dst, '\n')
				b.lines++
			}
		}
	}
	b.buf = dst
}

// appendOther writes a record that did not come from flipt_audit as one
// JSON object, so nothing reaching the exporter vanishes.
func appendOther(dst []byte, lr plog.LogRecord, res pcommon.Resource) []byte {
	ts := lr.Timestamp()
	if ts == 0 {
		ts = lr.ObservedTimestamp()
	}
	dst = append(dst, `{"time":"`...)
	dst = ts.AsTime().UTC().AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, `","severity":`...)
	sev := lr.SeverityText()
	if sev == "" && lr.SeverityNumber() != plog.SeverityNumberUnspecified {
		sev = lr.SeverityNumber().String()
	}
	dst = strconv.AppendQuote(dst, sev)
	if n := lr.EventName(); n != "" {
		dst = append(dst, `,"event_name":`...)
		dst = appendString(dst, n)
	}
	dst = append(dst, `,"body":`...)
	dst = auditevent.AppendValue(dst, lr.Body(), false)
	dst = append(dst, `,"attributes":`...)
	dst = appendMap(dst, lr.Attributes())
	dst = append(dst, `,"resource":`...)
	dst = appendMap(dst, res.Attributes())
	if id := lr.TraceID(); !id.IsEmpty() {
		dst = append(dst, `,"trace_id":"`...)
		dst = append(dst, id.String()...)
		dst = append(dst, '"')
	}
	if id := lr.SpanID(); !id.IsEmpty() {
		dst = append(dst, `,"span_id":"`...)
		dst = append(dst, id.String()...)
		dst = append(dst, '"')
	}
	return append(dst, '}')
}

func appendString(dst []byte, s string) []byte {
	return auditevent.AppendValue(dst, pcommon.NewValueStr(s), false)
}

func appendMap(dst []byte, m pcommon.Map) []byte {
	v := pcommon.NewValueEmpty()
	m.CopyTo(v.SetEmptyMap())
	return auditevent.AppendValue(dst, v, false)
}
