package auditevent

import (
	"fmt"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// A member whose value is a plain string is made with its value in one
// step; a duplicate key is refused the same whatever the values, with the
// same message at the same offset, in a narrow object and a wide one, and
// the members are those of the general path.
func TestPlainStringMembers(t *testing.T) {
	values := []string{`"y"`, `"\u0079"`, `"é"`, `1`, `{}`, `null`}
	for _, width := range []int{1, narrowMembers - 1, narrowMembers, 3 * narrowMembers} {
		var members []string
		for i := range width {
			members = append(members, fmt.Sprintf(`"k%d":"v%d"`, i, i))
		}
		for _, first := range values {
			for _, again := range values {
				obj := "{" + strings.Join(members, ",") + `,"dup":` + first + `,"k0":` + again + "}"
				d := decoder{data: []byte(obj), lim: DefaultLimits()}
				err := d.oneValue(pcommon.NewValueEmpty(), 0)
				want := fmt.Sprintf(`invalid JSON at byte %d: duplicate key "k0"`, strings.LastIndex(obj, `"k0":`)+len(`"k0":`))
				if err == nil || err.Error() != want {
					t.Fatalf("width %d, %s then %s: %v, want %s", width, first, again, err, want)
				}
			}
			obj := "{" + strings.Join(members, ",") + `,"last":` + first + "}"
			d := decoder{data: []byte(obj), lim: DefaultLimits()}
			v := pcommon.NewValueEmpty()
			if err := d.oneValue(v, 0); err != nil {
				t.Fatal(err)
			}
			// The general path as sortKeys takes it, in byte order.
			sorted := decoder{data: []byte(obj), lim: DefaultLimits(), sortKeys: true}
			want := pcommon.NewValueEmpty()
			if err := sorted.oneValue(want, 0); err != nil {
				t.Fatal(err)
			}
			if v.Map().Len() != width+1 {
				t.Fatalf("width %d: %d members", width, v.Map().Len())
			}
			for k, wv := range want.Map().All() {
				if got, ok := v.Map().Get(k); !ok || !got.Equal(wv) {
					t.Fatalf("width %d: member %q is %v, want %v", width, k, got.AsRaw(), wv.AsRaw())
				}
			}
			i := 0
			for k, mv := range v.Map().All() {
				if i < width && (k != fmt.Sprintf("k%d", i) || mv.Str() != fmt.Sprintf("v%d", i)) {
					t.Fatalf("width %d: member %d is %q: %q", width, i, k, mv.AsString())
				}
				i++
			}
		}
	}
}
