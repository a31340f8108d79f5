package evaluationmetrics

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
)

// The per-event fast paths (one pass over a v2 event's attributes, event
// names told apart by length, combos found by word signatures) are checked
// here against the plain way of doing the same: a lookup per key, string
// comparisons, a map keyed by every byte of every field.

// readV2EventPlain is readV2Event as a lookup per key.
func readV2EventPlain(attrs pcommon.Map, e *eval) {
	asString := func(v pcommon.Value) string {
		if v.Type() == pcommon.ValueTypeStr {
			return v.Str()
		}
		return v.AsString()
	}
	e.typ = typeVariant
	if v, ok := attrs.Get("flipt.key"); ok {
		e.flag = asString(v)
	}
	if v, ok := attrs.Get("flipt.type"); ok && asString(v) == "boolean" {
		e.typ = typeBoolean
	}
	if v, ok := attrs.Get("flipt.namespace"); ok {
		e.namespace = asString(v)
	}
	if v, ok := attrs.Get("flipt.environment"); ok {
		e.environment = asString(v)
	}
	reason := ""
	if v, ok := attrs.Get("flipt.result.reason"); ok {
		reason = asString(v)
	}
	if v, ok := attrs.Get("flipt.result.variant"); ok {
		if v.Type() == pcommon.ValueTypeBool {
			e.value = boolString(v.Bool())
		} else {
			e.value = asString(v)
		}
	}
	if v, ok := attrs.Get("flipt.result.segments"); ok && v.Type() == pcommon.ValueTypeSlice {
		e.segs, e.hasSegs = v.Slice(), true
	}
	e.reason = enumReason(reason)
	if e.typ == typeVariant {
		v, ok := attrs.Get("flipt.result.match")
		e.match = boolString(ok && v.Type() == pcommon.ValueTypeBool && v.Bool())
	}
}

func assertSameEval(t *testing.T, want, got *eval, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	assert.Equal(t, want.hasSegs, got.hasSegs, msg)
	if want.hasSegs && got.hasSegs {
		assert.Equal(t, want.segs.AsRaw(), got.segs.AsRaw(), msg)
	}
	w, g := *want, *got
	w.segs, g.segs = pcommon.Slice{}, pcommon.Slice{}
	assert.Equal(t, w, g, msg)
}

// putRandom sets key to a value of a random type, the types Flipt writes
// most often.
func putRandom(r *rand.Rand, m pcommon.Map, key string, words []string) {
	switch r.IntN(8) {
	case 0:
		m.PutBool(key, r.IntN(2) == 0)
	case 1:
		m.PutInt(key, int64(r.IntN(100)))
	case 2:
		m.PutDouble(key, 1.5)
	case 3:
		s := m.PutEmptySlice(key)
		for range r.IntN(3) {
			s.AppendEmpty().SetStr(words[r.IntN(len(words))])
		}
	case 4:
		m.PutStr(key, "")
	default:
		m.PutStr(key, words[r.IntN(len(words))])
	}
}

func TestReadV2EventEqualsLookupPerKey(t *testing.T) {
	// Every event of the v2 captures.
	n := 0
	for _, td := range fliptcapture.V2Traces(t) {
		for _, rs := range td.ResourceSpans().All() {
			for _, ss := range rs.ScopeSpans().All() {
				for _, s := range ss.Spans().All() {
					for _, ev := range s.Events().All() {
						if kindOf(ev.Name()) != evV2 {
							continue
						}
						var want, got eval
						readV2EventPlain(ev.Attributes(), &want)
						readV2Event(ev.Attributes(), &got)
						assertSameEval(t, &want, &got, "capture event")
						n++
					}
				}
			}
		}
	}
	require.Equal(t, 422, n)

	// Random events: Flipt's keys, keys of the same lengths that differ in
	// one byte, at either end or in the middle, any value types, any order.
	keys := []string{
		"flipt.key", "flipt.type", "flipt.namespace", "flipt.environment", "flipt.result.match",
		"flipt.result.reason", "flipt.result.variant", "flipt.result.segments",
		"flipt.kez", "flipt.typE", "flipt_namespace", "flipt.environmenT", "flipt.result.matcH",
		"flipt.result_reason", "Flipt.result.variant", "flipt.result.segment_",
		"Flipt.key", "flipt_type", "flipt.namespacE", "Flipt.environment", "flipt.result.mAtch",
		"flipt.result.reasoN", "flipt.result.varianT", "flipt.result.segmentS", "flipt.resulT.segments",
		"flipt.context.entity_id", "flipt.context.request_id", "", "f",
	}
	words := []string{"", "boolean", "variant", "match", "DEFAULT", "default", "a-long-flag-key-over-sixteen-bytes", "é"}
	r := rand.New(rand.NewPCG(7, 11))
	for i := range 20000 {
		m := pcommon.NewMap()
		for _, j := range r.Perm(len(keys))[:r.IntN(len(keys))] {
			putRandom(r, m, keys[j], words)
		}
		var want, got eval
		readV2EventPlain(m, &want)
		readV2Event(m, &got)
		assertSameEval(t, &want, &got, "random event %d: %v", i, m.AsRaw())
	}
}

func TestKindOfEqualsNameComparison(t *testing.T) {
	plain := func(n string) eventKind {
		switch n {
		case v2EventName, v2EventNameV213:
			return evV2
		case v1ResponseEvent:
			return evResponse
		case ofEventName, ofEventNameOld:
			return evOpenFeature
		}
		return 0
	}
	names := []string{v2EventName, v2EventNameV213, v1ResponseEvent, ofEventName, ofEventNameOld, "", "exception",
		"flipt.flag_evaluatioN", "Flipt.flag_evaluation", "flipt.flag_evalu_tion", "flipt_flag_evaluatet",
		"evaluation_responsE", "feature_flag.evaluatioN", "feature_flaG", strings.Repeat("x", 21)}
	for _, n := range names {
		assert.Equal(t, plain(n), kindOf(n), "%q", n)
	}
}

// plainComboKey writes every field a label reads, each ended by a byte
// UTF-8 never holds: two evaluations may share a combo exactly when their
// keys are equal.
func plainComboKey(e *eval) string {
	var b strings.Builder
	b.WriteByte(byte(e.typ))
	b.WriteByte(byte(e.side))
	if e.err {
		b.WriteByte(1)
	}
	b.WriteByte(0xff)
	for _, f := range []string{e.namespace, e.flag, e.environment, e.match, e.reason, e.value} {
		b.WriteString(f)
		b.WriteByte(0xff)
	}
	if e.hasSegs {
		for _, v := range e.segs.All() {
			b.WriteString(v.Str())
			b.WriteByte(0xfe)
		}
	} else if e.segment != "" { // a single segment renders as a list of one
		b.WriteString(e.segment)
		b.WriteByte(0xfe)
	}
	return b.String()
}

// Field values built to defeat the signatures: equal lengths and equal
// first and last eight (four, one) bytes with different middles, or short
// strings one byte apart, few enough that most fields repeat.
func TestComboLookupEqualsFullKey(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	pool := []string{"", "a", "b", "abc", "aXc", "abd", "abcde", "abXde", "abcdf", "abcdefg", "abcXefg", "abcdefh",
		"abcdefgh12345678", "abcdefgh12345679", "abcdefgI12345678", "abcdefgh1234567",
		"prefix--mnmn--suffix", "prefix--nmnm--suffix", "prefix--mmmm--suffix", "prefix--mnmnm--suffix",
		"é", "éé"}
	// Mostly empty fields, so that many evaluations differ in one field only.
	pick := func() string {
		if r.IntN(3) > 0 {
			return ""
		}
		return pool[r.IntN(len(pool))]
	}
	cfg := createDefaultConfig().(*Config)
	cfg.MaxSeries = 1 << 20
	cfg.MaxLabelLength = 64
	s := newStore(cfg)
	st := s.resource(pcommon.NewMap())
	byKey := map[string]*combo{}
	byCombo := map[*combo]string{}
	for i := range 20000 {
		e := eval{weight: 1, typ: flagType(r.IntN(int(numTypes))), side: side(r.IntN(2)), err: r.IntN(8) == 0,
			namespace: pick(), flag: pick(), environment: pick(), match: []string{"", "true", "false"}[r.IntN(3)],
			reason: pick(), value: pick()}
		switch r.IntN(3) {
		case 0:
			e.segment = pick()
		case 1:
			sl := pcommon.NewSlice()
			for range r.IntN(3) + r.IntN(2)*r.IntN(2*probeSegs) { // beyond those a probe holds, now and then
				sl.AppendEmpty().SetStr(pick())
			}
			e.segs, e.hasSegs = sl, true
		}
		co := s.add(st, &e, 1)
		k := plainComboKey(&e)
		if prev, ok := byKey[k]; ok {
			require.Same(t, prev, co, "evaluation %d: same fields, another combo", i)
			continue
		}
		other, taken := byCombo[co]
		require.False(t, taken, "evaluation %d: fields %q share a combo with %q", i, k, other)
		byKey[k], byCombo[co] = co, k
	}
	assert.Greater(t, len(byKey), 3000, "the corpus has many distinct combos")
}

// A combo copies its fields: the pdata they were read from may be reused.
func TestComboKeyOwnsItsStrings(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	s := newStore(cfg)
	st := s.resource(pcommon.NewMap())
	td := ptrace.NewTraces()
	attrs := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty().Attributes()
	attrs.PutStr("flag", "a-flag-key-longer-than-sixteen")
	v, _ := attrs.Get("flag")
	e := eval{weight: 1, flag: v.Str(), namespace: "default", match: "true", reason: "MATCH_EVALUATION_REASON"}
	first := s.add(st, &e, 1)
	attrs.PutStr("flag", "another-flag-key-longer-than-16")
	e2 := e
	e2.flag = strings.Clone("a-flag-key-longer-than-sixteen")
	assert.Same(t, first, s.add(st, &e2, 1))
}

// The v1 span reader runs only on spans named for Flipt's gRPC services.
// On every span both real servers sent, the reader finds nothing on the
// spans ruled out (the HTTP spans around each call, half of them).
func TestV1ReaderRuledOutOnlyWhereItFindsNothing(t *testing.T) {
	read, ruledOut := 0, 0
	for _, td := range append(fliptcapture.Traces(t), fliptcapture.V2Traces(t)...) {
		for _, rs := range td.ResourceSpans().All() {
			for _, ss := range rs.ScopeSpans().All() {
				for _, s := range ss.Spans().All() {
					var e eval
					found := readV1Span(s, &e)
					if !isFliptRPC(s.Name()) {
						ruledOut++
						assert.False(t, found, "span %q carries a v1 evaluation", s.Name())
					} else if found {
						read++
					}
				}
			}
		}
	}
	assert.Equal(t, 34, read, "the v1 evaluations of the captures")
	assert.Greater(t, ruledOut, 300)
	for name, want := range map[string]bool{
		"flipt.evaluation.EvaluationService/Variant": true, "flipt.Flipt/Evaluate": true, "flipt.ofrep.OFREPService/EvaluateFlag": true,
		"POST /evaluate/v1/*": false, "flipt.": false, "flipt": false, "": false, "grpc.health.v1.Health/Check": false, "Flipt.Flipt/Evaluate": false,
	} {
		assert.Equal(t, want, isFliptRPC(name), "%q", name)
	}
}

// The match word is part of a combo's kind: the three words readers write
// are told apart, and any other word is not cached.
func TestMatchInComboKind(t *testing.T) {
	codes := map[uint8]string{}
	for _, m := range []string{"", "true", "false"} {
		e := eval{match: m}
		k := comboKind(&e)
		require.NotContains(t, codes, k, "%q", m)
		codes[k] = m
		var p probe
		assert.True(t, makeProbe(&e, &p), "%q", m)
	}
	for _, m := range []string{"TRUE", "yes", "fals", "true "} {
		var p probe
		assert.False(t, makeProbe(&eval{match: m}, &p), "%q", m)
	}
}

// Only evaluations whose fields all fit max_label_length are cached as a
// combo (a combo copies its fields, so memory stays bounded); the length
// is checked when caching, and a longer evaluation still counts in full,
// one lookup per metric.
func TestComboCachesOnlyFieldsThatFit(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.MaxLabelLength = 16
	long := strings.Repeat("x", 17)
	for _, e := range []eval{
		{flag: long}, {namespace: long}, {environment: long}, {reason: long}, {value: long}, {segment: long},
		{hasSegs: true, segs: func() pcommon.Slice {
			sl := pcommon.NewSlice()
			sl.AppendEmpty().SetStr("short")
			sl.AppendEmpty().SetStr(long)
			return sl
		}()},
	} {
		s := newStore(cfg)
		st := s.resource(pcommon.NewMap())
		e.weight, e.match = 1, "true"
		first := s.add(st, &e, 1)
		assert.NotSame(t, first, s.add(st, &e, 1), "%+v is not cached", e)
		assert.Equal(t, 2.0, first.requests.value, "%+v counts every time", e)
		assert.Equal(t, 2.0, first.other.value, "%+v counts every time", e)
		assert.Zero(t, st.combos.n)
	}
	s := newStore(cfg)
	st := s.resource(pcommon.NewMap())
	short := eval{weight: 1, flag: strings.Repeat("x", 16), match: "true"}
	co := s.add(st, &short, 1)
	assert.Same(t, co, s.add(st, &short, 1), "16 bytes fit")
	assert.Equal(t, 1, st.combos.n)
}
