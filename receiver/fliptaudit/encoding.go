package fliptaudit

import (
	"net/http"
	"strings"
)

// normalizeContentEncoding serves next with Content-Encoding as confighttp
// looks it up: lower case (content codings are case-insensitive, RFC 9110
// 8.4.1), without "identity" (no coding at all). A list of several codings
// is left for confighttp to refuse.
func normalizeContentEncoding(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if vs := r.Header.Values("Content-Encoding"); len(vs) > 0 {
			var kept []string
			for _, v := range vs {
				for c := range strings.SplitSeq(v, ",") {
					if c = strings.ToLower(strings.TrimSpace(c)); c != "" && c != "identity" {
						kept = append(kept, c)
					}
				}
			}
			if len(kept) == 0 {
				r.Header.Del("Content-Encoding")
			} else {
				r.Header.Set("Content-Encoding", strings.Join(kept, ", "))
			}
		}
		next.ServeHTTP(w, r)
	})
}
