package auditevent

import (
	"fmt"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Defaults of the structural limits, set so that no event Flipt can send
// reaches them: they exist to keep hostile input cheap, and a legitimate
// event refused with 400 is lost for good (Flipt does not retry a 4xx).
const (
	// DefaultMaxDepth bounds nesting, the event object being level 1.
	// Flipt's sinks read the payload back with encoding/json, which refuses
	// more than 10,000 levels, so no event Flipt sends has more than 10,001.
	DefaultMaxDepth = 10240
	// DefaultMaxMembers bounds the members of one object. Flipt takes a
	// request of at most 4 MiB (gRPC's default max message); every member of
	// an object it records costs at least 4 bytes there, and keys are
	// distinct, so no object of an event has 2^20 members.
	DefaultMaxMembers = 1 << 20
	// DefaultMaxEventSize is the largest event, in bytes, every source
	// accepts. A 4 MiB request of characters Flipt writes escaped
	// (\u003c for '<') becomes 24 MiB of JSON; 32 MiB leaves room.
	DefaultMaxEventSize = 32 << 20
)

// Limits bound the structure of a decoded event. A zero field takes its
// default.
type Limits struct {
	// MaxDepth is the deepest nesting of objects and arrays accepted,
	// counted in the event: the event object is level 1, its payload
	// object level 2.
	MaxDepth int
	// MaxMembers is the most members one object may have.
	MaxMembers int
}

// DefaultLimits returns the limits no event Flipt sends reaches.
func DefaultLimits() Limits {
	return Limits{MaxDepth: DefaultMaxDepth, MaxMembers: DefaultMaxMembers}
}

func (l Limits) orDefault() Limits {
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxMembers <= 0 {
		l.MaxMembers = DefaultMaxMembers
	}
	return l
}

// LimitError is input refused because it exceeds one of the Limits; Limit
// names the limit as its config field does.
type LimitError struct {
	Limit  string // "max_depth" or "max_members"
	Max    int
	Offset int
}

func (e *LimitError) Error() string {
	what := "nesting depth exceeds"
	if e.Limit == "max_members" {
		what = "object members exceed"
	}
	return fmt.Sprintf("%s %s %d (at byte %d)", what, e.Limit, e.Max, e.Offset)
}

// DecodeRecord is the package's DecodeRecord under these limits.
func (l Limits) DecodeRecord(data []byte, lr plog.LogRecord, source string, observed pcommon.Timestamp) error {
	d := decoder{data: data, lim: l.orDefault()}
	return d.oneRecord(lr, source, observed)
}

// DecodeRecords is the package's DecodeRecords under these limits.
func (l Limits) DecodeRecords(data []byte, newRecord func() plog.LogRecord, source string, observed pcommon.Timestamp) (int, error) {
	d := decoder{data: data, lim: l.orDefault()}
	return d.allRecords(newRecord, source, observed)
}

// RecordFromSpanEvent is the package's RecordFromSpanEvent under these
// limits.
func (l Limits) RecordFromSpanEvent(span ptrace.Span, ev ptrace.SpanEvent, lr plog.LogRecord, observed pcommon.Timestamp) error {
	return recordFromSpanEvent(l.orDefault(), span, ev, lr, observed)
}
