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
	// DefaultMaxElements bounds the JSON values (objects, arrays, strings,
	// numbers, literals) of one request or span event, counted before any
	// is built: each costs about 90 bytes once built, whatever its size in
	// the body. Flipt takes a request of at most 4 MiB, and every value it
	// records costs at least 2 bytes there (a Struct value without a kind,
	// written back as null), so no event holds more than 2^21 values from
	// the request and a few dozen of its own; 2^22 leaves twice that.
	DefaultMaxElements = 1 << 22
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
	// MaxElements is the most JSON values of every kind one body (or one
	// span event) may hold, checked before anything is built.
	MaxElements int
}

// DefaultLimits returns the limits no event Flipt sends reaches.
func DefaultLimits() Limits {
	return Limits{MaxDepth: DefaultMaxDepth, MaxMembers: DefaultMaxMembers, MaxElements: DefaultMaxElements}
}

func (l Limits) orDefault() Limits {
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxMembers <= 0 {
		l.MaxMembers = DefaultMaxMembers
	}
	if l.MaxElements <= 0 {
		l.MaxElements = DefaultMaxElements
	}
	return l
}

// LimitError is input refused because it exceeds one of the Limits; Limit
// names the limit as its config field does.
type LimitError struct {
	Limit  string // "max_depth", "max_members" or "max_elements"
	Max    int
	Offset int
}

func (e *LimitError) Error() string {
	what := "nesting depth exceeds"
	switch e.Limit {
	case "max_members":
		what = "object members exceed"
	case "max_elements":
		what = "JSON values exceed"
	}
	return fmt.Sprintf("%s %s %d (at byte %d)", what, e.Limit, e.Max, e.Offset)
}

// DecodeRecord is the package's DecodeRecord under these limits. The
// limits and the top-level fields are checked by a scan before anything is
// built.
func (l Limits) DecodeRecord(data []byte, lr plog.LogRecord, source string, observed pcommon.Timestamp) error {
	l = l.orDefault()
	s := newScanner(data, l)
	if err := s.oneRecord(); err != nil {
		return err
	}
	d := decoder{data: data, lim: l, facts: s.facts}
	return d.oneRecord(lr, source, observed)
}

// DecodeRecords is the package's DecodeRecords under these limits, Check
// then Decode.
func (l Limits) DecodeRecords(data []byte, newRecord func() plog.LogRecord, source string, observed pcommon.Timestamp) (int, error) {
	l = l.orDefault()
	s := newScanner(data, l)
	if n, err := s.allRecords(); err != nil {
		return n, err
	}
	d := decoder{data: data, lim: l, facts: s.facts}
	return d.allRecords(newRecord, source, observed)
}

// Checked is a body that passed Check: within the limits, well-formed, and
// each event's top-level fields those of an event.
type Checked struct {
	data  []byte
	lim   Limits
	facts scanFacts
	// Elements is how many JSON values the body holds, what building it
	// costs (about 90 bytes each) beside its strings.
	Elements int
	// Events is how many events it holds, the records DecodeRecords makes.
	Events int
}

// Check scans a body as DecodeRecords reads it, without building anything,
// and returns the errors DecodeRecords would, but a duplicate key's.
func (l Limits) Check(data []byte) (Checked, error) {
	l = l.orDefault()
	s := newScanner(data, l)
	n, err := s.allRecords()
	if err != nil {
		return Checked{}, err
	}
	return Checked{data: data, lim: l, facts: s.facts, Elements: s.elements, Events: n}, nil
}

// DecodeRecords builds the records of a checked body, as the package's
// DecodeRecords.
func (c Checked) DecodeRecords(newRecord func() plog.LogRecord, source string, observed pcommon.Timestamp) (int, error) {
	d := decoder{data: c.data, lim: c.lim, facts: c.facts}
	return d.allRecords(newRecord, source, observed)
}

// RecordFromSpanEvent is the package's RecordFromSpanEvent under these
// limits.
func (l Limits) RecordFromSpanEvent(span ptrace.Span, ev ptrace.SpanEvent, lr plog.LogRecord, observed pcommon.Timestamp) error {
	return recordFromSpanEvent(l.orDefault(), span, ev, lr, observed)
}
