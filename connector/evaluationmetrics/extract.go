package evaluationmetrics // import "github.com/otelcol-flipt/otelcol-flipt/connector/evaluationmetrics"

import (
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// source is where an evaluation was read (telemetry attribute).
type source uint8

const (
	srcV1 source = iota
	srcV1Response
	srcV2
	srcOpenFeature
	numSources
)

var sourceNames = [numSources]string{"flipt_v1", "flipt_v1_response", "flipt_v2", "openfeature"}

// skipReason says why evaluation telemetry could not be counted.
type skipReason uint8

const (
	skipBulk skipReason = iota
	skipFailed
	skipBadResponse
	skipDuplicate
	numSkips
)

var skipNames = [numSkips]string{"bulk_without_response", "failed_without_flag", "bad_response", "duplicate"}

// Names Flipt and OpenFeature use.
const (
	v2EventName        = "flipt.flag_evaluation"
	v2EventNameV213    = "flipt_flag_evaluated" // Flipt v2.1.3
	v1ResponseEvent    = "evaluation_response"
	v1ResponseAttr     = "flipt.evaluation.response"
	ofEventName        = "feature_flag.evaluation"
	ofEventNameOld     = "feature_flag" // OpenFeature Go hook before semconv 1.27
	evaluationPrefixV1 = "flipt.evaluation.EvaluationService/"
	legacyPrefix       = "flipt.Flipt/"
	ofrepPrefix        = "flipt.ofrep.OFREPService/"
)

// eventKind is a set of the span event kinds a reader handles.
type eventKind uint8

const (
	evV2 eventKind = 1 << iota
	evResponse
	evOpenFeature
)

// kindOf classifies a span event by its name; each name has its own
// length, so a name is compared at most once.
func kindOf(name string) eventKind {
	switch len(name) {
	case len(v2EventName):
		if name[:16] == "flipt.flag_evalu" && name[16:] == "ation" { // v2EventName in two loads
			return evV2
		}
	case len(v2EventNameV213):
		if name[:16] == "flipt_flag_evalu" && name[16:] == "ated" { // v2EventNameV213
			return evV2
		}
	case len(v1ResponseEvent):
		if name == v1ResponseEvent {
			return evResponse
		}
	case len(ofEventName):
		if name == ofEventName {
			return evOpenFeature
		}
	case len(ofEventNameOld):
		if name == ofEventNameOld {
			return evOpenFeature
		}
	}
	return 0
}

// isBulk reports spans that evaluate several flags but carry at most the
// last one's attributes (OFREP EvaluateBulk sets them in a loop).
func isBulk(name string) bool {
	return name == ofrepPrefix+"EvaluateBulk" || name == evaluationPrefixV1+"Batch" || name == legacyPrefix+"BatchEvaluate"
}

// isFliptRPC reports the server spans of Flipt's own gRPC services, named
// flipt.<service>/<method>: the only spans Flipt v1 sets flipt.flag on.
func isFliptRPC(name string) bool {
	return len(name) > len("flipt.") && name[:len("flipt.")] == "flipt."
}

// mayCount reports whether any reader has work on span: it has events, or
// it is one of Flipt's gRPC calls. The HTTP span around each call has none.
func mayCount(span ptrace.Span) bool {
	return span.Events().Len() > 0 || isFliptRPC(span.Name())
}

func isEvaluationSpan(name string) bool {
	switch {
	case strings.HasPrefix(name, evaluationPrefixV1):
		return true
	case strings.HasPrefix(name, ofrepPrefix):
		return true
	case name == legacyPrefix+"Evaluate" || name == legacyPrefix+"BatchEvaluate":
		return true
	}
	return false
}

// spanFailed: Flipt leaves the span status unset and writes the gRPC code.
func spanFailed(span ptrace.Span) bool {
	if span.Status().Code() == ptrace.StatusCodeError {
		return true
	}
	if v, ok := span.Attributes().Get("rpc.response.status_code"); ok {
		return v.Type() == pcommon.ValueTypeStr && v.Str() != "OK" && v.Str() != ""
	}
	if v, ok := span.Attributes().Get("rpc.grpc.status_code"); ok {
		return v.Type() == pcommon.ValueTypeInt && v.Int() != 0
	}
	return false
}

func durationMs(span ptrace.Span) float64 {
	s, e := span.StartTimestamp(), span.EndTimestamp()
	if e <= s {
		return 0
	}
	return float64(e-s) / 1e6
}

func str(m pcommon.Map, key string) (string, bool) {
	v, ok := m.Get(key)
	if !ok {
		return "", false
	}
	if v.Type() == pcommon.ValueTypeStr {
		return v.Str(), true
	}
	return v.AsString(), true
}

// firstStr returns the first of the keys present.
func firstStr(m pcommon.Map, keys ...string) (string, bool) {
	for _, k := range keys {
		if s, ok := str(m, k); ok {
			return s, true
		}
	}
	return "", false
}

// readV1Span fills e from the attributes Flipt v1 sets on the server span of
// a single evaluation. It reports false when the span carries none.
func readV1Span(span ptrace.Span, e *eval) bool {
	attrs := span.Attributes()
	flag, ok := str(attrs, "flipt.flag")
	if !ok {
		return false
	}
	// flipt.Flipt/GetFlag and other management calls name a flag too.
	if _, hasReason := attrs.Get("flipt.reason"); !hasReason && !isEvaluationSpan(span.Name()) {
		return false
	}
	e.flag = flag
	e.namespace, _ = str(attrs, "flipt.namespace")
	e.latencyMs = durationMs(span)
	if spanFailed(span) {
		e.err = true
		return true
	}
	e.reason, _ = str(attrs, "flipt.reason")
	e.typ = typeVariant
	e.match = "false"
	if v, ok := attrs.Get("flipt.value"); ok {
		switch v.Type() {
		case pcommon.ValueTypeBool:
			e.typ = typeBoolean
			e.value = boolString(v.Bool())
			e.match = ""
		case pcommon.ValueTypeStr:
			e.value = v.Str()
		default:
			e.value = v.AsString()
		}
	}
	if e.typ == typeVariant {
		if v, ok := attrs.Get("flipt.match"); ok && v.Type() == pcommon.ValueTypeBool {
			e.match = boolString(v.Bool())
		}
	}
	if v, ok := attrs.Get("flipt.segments"); ok && v.Type() == pcommon.ValueTypeSlice {
		e.segs, e.hasSegs = v.Slice(), true
	} else if s, ok := str(attrs, "flipt.segment"); ok { // legacy flipt.Flipt/Evaluate
		e.segment = s
	}
	return true
}

// The attributes of a Flipt v2 flipt.flag_evaluation event readV2Event
// reads, as bits of a set and indexes of the values found.
const (
	v2Key = iota
	v2Type
	v2Namespace
	v2Environment
	v2Match
	v2Reason
	v2Variant
	v2Segments
	numV2Attrs
)

// readV2Event fills e from a Flipt v2 flipt.flag_evaluation event, in one
// pass over its attributes. Each key Flipt writes has its own length, so a
// key is compared once, only when its length matches; a key longer than 16
// bytes is compared in two constant pieces, which compile to loads where
// one comparison would call memequal. The pass only notes where each value
// is; the values are read after it, so the loop holds nothing but its own
// state and calls nothing.
func readV2Event(attrs pcommon.Map, e *eval) {
	var vals [numV2Attrs]pcommon.Value
	var found uint8
	for k, v := range attrs.All() {
		switch len(k) {
		case len("flipt.key"):
			if k == "flipt.key" {
				vals[v2Key], found = v, found|1<<v2Key
			}
		case len("flipt.type"):
			if k == "flipt.type" {
				vals[v2Type], found = v, found|1<<v2Type
			}
		case len("flipt.namespace"):
			if k == "flipt.namespace" {
				vals[v2Namespace], found = v, found|1<<v2Namespace
			}
		case len("flipt.environment"):
			if k[:16] == "flipt.environmen" && k[16:] == "t" {
				vals[v2Environment], found = v, found|1<<v2Environment
			}
		case len("flipt.result.match"):
			if k[:16] == "flipt.result.mat" && k[16:] == "ch" {
				vals[v2Match], found = v, found|1<<v2Match
			}
		case len("flipt.result.reason"):
			if k[:16] == "flipt.result.rea" && k[16:] == "son" {
				vals[v2Reason], found = v, found|1<<v2Reason
			}
		case len("flipt.result.variant"):
			if k[:16] == "flipt.result.var" && k[16:] == "iant" {
				vals[v2Variant], found = v, found|1<<v2Variant
			}
		case len("flipt.result.segments"):
			if k[:16] == "flipt.result.seg" && k[16:] == "ments" {
				vals[v2Segments], found = v, found|1<<v2Segments
			}
		}
	}
	// A Value not found is the zero Value, whose Str is "" and Bool false;
	// only the rendering of other types needs to know it was there.
	slow := func(i int) string {
		if found&(1<<i) == 0 {
			return ""
		}
		return strValueSlow(vals[i])
	}
	e.typ = typeVariant
	if vals[v2Type].Str() == "boolean" { // only a string renders as boolean
		e.typ = typeBoolean
	}
	// Str first, written out: a function of it is too big to be inlined.
	if e.flag = vals[v2Key].Str(); e.flag == "" {
		e.flag = slow(v2Key)
	}
	if e.namespace = vals[v2Namespace].Str(); e.namespace == "" {
		e.namespace = slow(v2Namespace)
	}
	if e.environment = vals[v2Environment].Str(); e.environment == "" {
		e.environment = slow(v2Environment)
	}
	if e.value = vals[v2Variant].Str(); e.value == "" && found&(1<<v2Variant) != 0 {
		if vals[v2Variant].Type() == pcommon.ValueTypeBool {
			e.value = boolString(vals[v2Variant].Bool())
		} else {
			e.value = strValueSlow(vals[v2Variant])
		}
	}
	if found&(1<<v2Segments) != 0 && vals[v2Segments].Type() == pcommon.ValueTypeSlice {
		e.segs, e.hasSegs = vals[v2Segments].Slice(), true
	}
	reason := vals[v2Reason].Str()
	if reason == "" {
		reason = slow(v2Reason)
	}
	e.reason = enumReason(reason)
	if e.typ == typeVariant {
		e.match = boolString(vals[v2Match].Bool()) // false for any other type
	}
}

// strValueSlow is v as a string when its Str is "": Str is a single type
// check, and only a string value has a non-empty Str, so this is an empty
// string or a value of another type, rendered as AsString does.
func strValueSlow(v pcommon.Value) string {
	if v.Type() == pcommon.ValueTypeStr {
		return ""
	}
	return v.AsString()
}

// readOpenFeature fills e from a feature_flag.evaluation event (span event
// or log record), current or deprecated attribute names. body is the log
// record body (older conventions put the value there), nil for span events.
func readOpenFeature(attrs pcommon.Map, body *pcommon.Value, defaultNamespace string, e *eval) bool {
	key, ok := str(attrs, "feature_flag.key")
	if !ok || key == "" {
		return false
	}
	e.side = sideClient
	e.flag = key
	e.namespace = defaultNamespace
	if ns, ok := str(attrs, "feature_flag.set.id"); ok && ns != "" {
		e.namespace = ns
	}
	reason, _ := firstStr(attrs, "feature_flag.result.reason", "feature_flag.evaluation.reason", "feature_flag.reason")
	if et, _ := str(attrs, "error.type"); et != "" || equalFoldASCII2(reason, "error") {
		e.err = true
		return true
	}
	e.reason = enumReason(reason)
	variant, hasVariant := firstStr(attrs, "feature_flag.result.variant", "feature_flag.variant")
	val, hasVal := attrs.Get("feature_flag.result.value")
	if !hasVal && body != nil && body.Type() == pcommon.ValueTypeMap {
		val, hasVal = body.Map().Get("value")
	}
	switch {
	case hasVal && val.Type() == pcommon.ValueTypeBool:
		e.typ = typeBoolean
		e.value = boolString(val.Bool())
	case hasVariant:
		e.typ = typeVariant
		e.value = variant
	case hasVal && val.Type() == pcommon.ValueTypeStr:
		e.typ = typeVariant
		e.value = val.Str()
	case hasVal:
		e.typ = typeVariant
		e.value = val.AsString()
	default:
		e.typ = typeVariant
	}
	if e.typ == typeVariant {
		e.match = boolString(e.reason == "MATCH_EVALUATION_REASON" || e.reason == "SPLIT_EVALUATION_REASON")
	}
	return true
}

func equalFoldASCII2(a, b string) bool { return len(a) == len(b) && equalFoldASCII(a, b) }

// isOpenFeatureEvent reports whether a log record is a feature_flag.evaluation event.
func isOpenFeatureRecord(lr plog.LogRecord) bool {
	if n := lr.EventName(); n != "" {
		return n == ofEventName
	}
	if v, ok := lr.Attributes().Get("event.name"); ok && v.Type() == pcommon.ValueTypeStr {
		return v.Str() == ofEventName
	}
	return false
}
