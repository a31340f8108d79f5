package cachemetrics

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/otelcol-flipt/otelcol-flipt/processor/cachemetrics/internal/metadatatest"
)

func TestCutLabelAtUTF8Boundary(t *testing.T) {
	cases := []struct {
		v    string
		max  int
		want string
		cut  bool
	}{
		{"memory", 6, "memory", false},
		{"memory", 0, "memory", false}, // 0: no limit
		{"memory", 3, "mem...", true},
		{"aé", 2, "a...", true},                            // é is 2 bytes: not split
		{"a€b", 3, "a...", true},                           // € is 3 bytes
		{"a€b", 4, "a€...", true},                          // the whole € fits
		{"😀😀", 5, "😀...", true},                            // 4-byte runes
		{"😀😀", 7, "😀...", true},                            // 3 bytes back to the rune start
		{"😀", 2, "...", true},                              // nothing whole fits
		{"ab\xff\xff\xff\xffcd", 4, "ab\xff\xff...", true}, // not UTF-8: byte limit
		{"\x80\x80\x80\x80\x80\x80", 5, "\x80\x80\x80\x80\x80...", true},
	}
	for _, tc := range cases {
		got, cut := cutLabel(tc.v, tc.max)
		assert.Equal(t, tc.want, got, "%q max %d", tc.v, tc.max)
		assert.Equal(t, tc.cut, cut, "%q max %d", tc.v, tc.max)
		buf, bcut := appendLabel([]byte("x"), tc.v, tc.max)
		assert.Equal(t, "x"+tc.want, string(buf))
		assert.Equal(t, tc.cut, bcut)
	}
}

func TestCutLabelKeepsValidUTF8(t *testing.T) {
	v := strings.Repeat("aé€😀", 100)
	for max := 1; max <= len(v)+1; max++ {
		got, cut := cutLabel(v, max)
		assert.True(t, utf8.ValidString(got), "max %d", max)
		if cut {
			kept := strings.TrimSuffix(got, labelMarker)
			assert.LessOrEqual(t, len(kept), max)
			assert.Greater(t, len(kept), max-utf8.UTFMax)
			assert.True(t, strings.HasPrefix(v, kept))
		}
	}
}

func TestLongLabelValuesAreCut(t *testing.T) {
	h := newHarness(t, nil)                  // default limit: 256 bytes
	longCache := strings.Repeat("€", 40_000) // 120 KB, 3 bytes a character
	longInst := strings.Repeat("é", 60_000)  // 120 KB, 2 bytes a character
	h.consume(t, traces(
		lookupSpan(1, true, longCache, "flag", "flipt", longInst),
		lookupSpan(2, false, longCache+"another tail", "flag", "flipt", longInst), // same series once cut
		lookupSpan(3, true, "memory", "flag", "flipt", "a"),                       // short values as they are
	))
	h.flush(t)
	h.clock.Advance(time.Second)
	got := h.flush(t)

	cutCache := strings.Repeat("€", 85) + "..." // 255 bytes: a 86th € would pass 256
	cutInst := strings.Repeat("é", 128) + "..." // exactly 256 bytes
	assert.Equal(t, map[string]int64{
		"flipt@" + cutInst + " flipt.cache.hit " + cutCache + "/flag":   1,
		"flipt@" + cutInst + " flipt.cache.miss " + cutCache + "/flag":  1,
		"flipt@" + cutInst + " flipt.cache.error " + cutCache + "/flag": 0,
		"flipt@a flipt.cache.hit memory/flag":                           1,
		"flipt@a flipt.cache.miss memory/flag":                          0,
		"flipt@a flipt.cache.error memory/flag":                         0,
	}, got)
	for _, st := range h.c.store.resources {
		assert.LessOrEqual(t, len(st.key), 2*(256+len(labelMarker)+2), "the instance key holds cut values only")
	}
	// Two cache values (one per lookup) and one instance value (one per
	// resource of the export).
	metadatatest.AssertEqualCacheMetricsLabelValuesTruncated(t, h.tel,
		[]metricdata.DataPoint[int64]{{Value: 3}}, metricdatatest.IgnoreTimestamp())
}

func TestLabelLimitZeroKeepsValuesWhole(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MaxLabelValueLength = 0 })
	long := strings.Repeat("x", 1_000)
	h.consume(t, traces(lookupSpan(1, true, long, "flag", "flipt", "")))
	h.flush(t)
	h.clock.Advance(time.Second)
	assert.Equal(t, int64(1), h.flush(t)["flipt flipt.cache.hit "+long+"/flag"])
	_, err := h.tel.GetMetric("otelcol_cache_metrics_label_values_truncated")
	assert.Error(t, err, "nothing cut, nothing counted")
}
