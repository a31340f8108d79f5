package cachemetrics // import "github.com/otelcol-flipt/otelcol-flipt/processor/cachemetrics"

import "unicode/utf8"

// labelMarker ends a label value that was cut to max_label_value_length.
const labelMarker = "..."

// cutAt returns where v is cut to keep at most max bytes, ending on a whole
// UTF-8 character, or -1 if v is kept whole (max 0: no limit).
func cutAt(v string, max int) int {
	if max <= 0 || len(v) <= max {
		return -1
	}
	i := max
	for back := 0; back < utf8.UTFMax-1 && i > 0 && !utf8.RuneStart(v[i]); back++ {
		i--
	}
	if !utf8.RuneStart(v[i]) {
		return max // not UTF-8 here: cut at the byte limit
	}
	return i
}

// cutLabel returns v, or its cut form and true. Only a cut allocates.
func cutLabel(v string, max int) (string, bool) {
	i := cutAt(v, max)
	if i < 0 {
		return v, false
	}
	return v[:i] + labelMarker, true
}

// appendLabel appends v, cut as cutLabel does, without allocating.
func appendLabel(buf []byte, v string, max int) ([]byte, bool) {
	i := cutAt(v, max)
	if i < 0 {
		return append(buf, v...), false
	}
	return append(append(buf, v[:i]...), labelMarker...), true
}
