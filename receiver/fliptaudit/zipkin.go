package fliptaudit

import (
	"strings"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-flipt/otelcol-flipt/internal/auditevent"
)

// zipkinPrefix starts the annotation OpenTelemetry Go's Zipkin exporter
// (the one in Flipt) writes for a span event with attributes: the name, a
// colon, and the attributes as one JSON object. auditevent reads the whole
// form; what is left here is an annotation the zipkin receiver cut short.
const zipkinPrefix = auditevent.SpanEventName + ": {"

// isCutZipkinAuditEvent reports an audit event that came through Zipkin but
// cannot be rebuilt: the zipkin receiver cuts an annotation at a '|'
// (taking it for its own "name|attributes|dropped" form), which drops the
// attributes after it, flipt.event.version among them.
func isCutZipkinAuditEvent(ev ptrace.SpanEvent) bool {
	name := ev.Name()
	return strings.HasPrefix(name, zipkinPrefix) && strings.Contains(name, `"flipt.event.`)
}
