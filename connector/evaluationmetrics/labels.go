package evaluationmetrics // import "github.com/otelcol-flipt/otelcol-flipt/connector/evaluationmetrics"

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// labelID names one label independently of the naming mode.
type labelID uint8

const (
	lNamespace labelID = iota
	lFlag
	lEnvironment
	lMatch
	lSegment  // v1: the first matched segment key
	lSegments // v2: every matched segment key, as a JSON array
	lReason
	lValue
	lType
	lSide
	numLabels
)

// labelNames holds each mode's label names, as Flipt writes them.
var labelNames = map[string][numLabels]string{
	LabelsV1: {"namespace", "flag", "environment", "match", "segment", "", "reason", "value", "type", sideLabel},
	LabelsV2: {"flipt_namespace", "flipt_flag", "flipt_environment", "flipt_match", "", "flipt_segments", "flipt_reason", "flipt_value", "flipt_flag_type", sideLabel},
}

// sideLabel tells derived series from Flipt's own: "server" for evaluations
// a Flipt server made, "client" for OpenFeature clients. Flipt's own series
// have no such label.
const sideLabel = "evaluation_side"

// metricID is one output metric.
type metricID uint8

const (
	mRequests metricID = iota
	mResults
	mErrors
	mLatency
	numMetrics
)

// labelSets lists, per mode, metric and flag type, the labels of a series in
// Flipt's order of meaning. Environment is left out when empty (v1 has none).
type labelSets [numMetrics][numTypes][]labelID

func newLabelSets(mode string) labelSets {
	var ls labelSets
	perFlag := []labelID{lNamespace, lFlag, lEnvironment, lSide}
	var variant, boolean []labelID
	if mode == LabelsV2 {
		perFlag = []labelID{lEnvironment, lFlag, lNamespace, lSide}
		variant = []labelID{lEnvironment, lFlag, lType, lMatch, lNamespace, lReason, lSegments, lValue, lSide}
		boolean = []labelID{lEnvironment, lFlag, lType, lNamespace, lReason, lSegments, lValue, lSide}
	} else {
		variant = []labelID{lNamespace, lFlag, lMatch, lSegment, lReason, lValue, lType, lEnvironment, lSide}
		boolean = []labelID{lNamespace, lFlag, lValue, lReason, lType, lEnvironment, lSide}
	}
	for t := range numTypes {
		ls[mRequests][t] = perFlag
		ls[mErrors][t] = perFlag
		ls[mLatency][t] = perFlag
	}
	ls[mResults][typeVariant] = variant
	ls[mResults][typeBoolean] = boolean
	return ls
}

// flagType is the type label of a result.
type flagType uint8

const (
	typeVariant flagType = iota
	typeBoolean
	numTypes
)

var typeNames = [numTypes]string{"variant", "boolean"}

// side is who evaluated.
type side uint8

const (
	sideServer side = iota
	sideClient
)

var sideNames = [...]string{"server", "client"}

// eval is one evaluation found in the telemetry. Its strings point into the
// caller's pdata and are cloned only when a new series is made.
type eval struct {
	side        side
	namespace   string
	flag        string
	environment string
	typ         flagType
	match       string // "true", "false" or "" (boolean flags have none)
	reason      string // Flipt's enum name, e.g. MATCH_EVALUATION_REASON
	value       string
	// segments: a []string attribute (segs), or one key (segment).
	segs      pcommon.Slice
	hasSegs   bool
	segment   string
	err       bool
	latencyMs float64
	weight    float64 // 1/sampling probability
}

func (e *eval) firstSegment() string {
	if e.hasSegs {
		if e.segs.Len() > 0 && e.segs.At(0).Type() == pcommon.ValueTypeStr {
			return e.segs.At(0).Str()
		}
		return ""
	}
	return e.segment
}

// appendValue appends the value of label l, cut to max bytes; truncated
// reports a cut.
func (e *eval) appendValue(buf []byte, l labelID, max int) (out []byte, truncated bool) {
	start := len(buf)
	switch l {
	case lNamespace:
		buf = append(buf, e.namespace...)
	case lFlag:
		buf = append(buf, e.flag...)
	case lEnvironment:
		buf = append(buf, e.environment...)
	case lMatch:
		buf = append(buf, e.match...)
	case lSegment:
		buf = append(buf, e.firstSegment()...)
	case lSegments:
		buf = e.appendSegmentsJSON(buf)
	case lReason:
		buf = append(buf, e.reason...)
	case lValue:
		buf = append(buf, e.value...)
	case lType:
		buf = append(buf, typeNames[e.typ]...)
	case lSide:
		buf = append(buf, sideNames[e.side]...)
	}
	if len(buf)-start > max {
		cut := start + max
		for cut > start && !utf8.RuneStart(buf[cut]) {
			cut--
		}
		return buf[:cut], true
	}
	return buf, false
}

// appendSegmentsJSON writes the segment keys as Flipt v2's metrics show
// them: ["mobile","eu_users"], [] when none.
func (e *eval) appendSegmentsJSON(buf []byte) []byte {
	buf = append(buf, '[')
	if e.hasSegs {
		for i := range e.segs.Len() {
			if i > 0 {
				buf = append(buf, ',')
			}
			v := e.segs.At(i)
			if v.Type() == pcommon.ValueTypeStr {
				buf = appendJSONString(buf, v.Str())
			} else {
				buf = appendJSONString(buf, v.AsString())
			}
		}
	} else if e.segment != "" {
		buf = appendJSONString(buf, e.segment)
	}
	return append(buf, ']')
}

// appendJSONString quotes s as encoding/json does (HTML-escaped), which is
// how OpenTelemetry-Go renders a string slice attribute for Prometheus.
func appendJSONString(buf []byte, s string) []byte {
	const hex = "0123456789abcdef"
	buf = append(buf, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				buf = append(buf, '\\', c)
			case c == '\n':
				buf = append(buf, '\\', 'n')
			case c == '\r':
				buf = append(buf, '\\', 'r')
			case c == '\t':
				buf = append(buf, '\\', 't')
			case c < 0x20 || c == '<' || c == '>' || c == '&':
				buf = append(buf, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				buf = append(buf, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			buf = append(buf, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			buf = append(buf, `\u202`...)
			buf = strconv.AppendInt(buf, int64(r&0xf), 16)
		default:
			buf = append(buf, s[i:i+size]...)
		}
		i += size
	}
	return append(buf, '"')
}

// v1Reasons maps the reasons of Flipt v2 events and OpenFeature to the enum
// names Flipt's metrics carry (v1 and v2 alike). Matched case-insensitively.
var v1Reasons = [][2]string{
	{"match", "MATCH_EVALUATION_REASON"},
	{"targeting_match", "MATCH_EVALUATION_REASON"},
	{"default", "DEFAULT_EVALUATION_REASON"},
	{"disabled", "FLAG_DISABLED_EVALUATION_REASON"},
	{"flag_disabled", "FLAG_DISABLED_EVALUATION_REASON"},
	{"unknown", "UNKNOWN_EVALUATION_REASON"},
	{"", "UNKNOWN_EVALUATION_REASON"},
	{"error", "ERROR_EVALUATION_REASON"},
	{"static", "STATIC_EVALUATION_REASON"},
	{"split", "SPLIT_EVALUATION_REASON"},
	{"cached", "CACHED_EVALUATION_REASON"},
	{"stale", "STALE_EVALUATION_REASON"},
}

// enumReason returns Flipt's enum name for a reason; names already in that
// form and reasons not in the table pass unchanged.
func enumReason(r string) string {
	switch r { // Flipt v2's own words and v1's names: no loop
	case "match":
		return "MATCH_EVALUATION_REASON"
	case "default":
		return "DEFAULT_EVALUATION_REASON"
	case "disabled":
		return "FLAG_DISABLED_EVALUATION_REASON"
	case "unknown", "":
		return "UNKNOWN_EVALUATION_REASON"
	case "MATCH_EVALUATION_REASON", "DEFAULT_EVALUATION_REASON", "FLAG_DISABLED_EVALUATION_REASON", "UNKNOWN_EVALUATION_REASON":
		return r
	}
	for _, m := range v1Reasons {
		if len(m[0]) == len(r) && equalFoldASCII(m[0], r) {
			return m[1]
		}
	}
	return r
}

// canonicalReason returns Flipt's enum name r as the constant enumReason
// returns, or a copy of r when it is none of them.
func canonicalReason(r string) string {
	for _, m := range v1Reasons {
		if m[1] == r {
			return m[1]
		}
	}
	return strings.Clone(r)
}

func equalFoldASCII(a, b string) bool {
	for i := range len(a) {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// boolString avoids strconv allocations for the two values.
func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
