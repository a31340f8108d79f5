package auditevent

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
)

// BenchmarkCaptured measures what the webhook spends on a captured body of
// its own: Check, then DecodeRecords into a fresh plog.Logs, as the
// receiver's decodeWebhookBody does, over Flipt's 51 captured requests in
// turn (one request per op); new_logs is the fresh plog.Logs alone. For
// instruction counts, which do not move with the machine's load:
//
//	go test -c -o /tmp/scan.test ./internal/auditevent/
//	GOMAXPROCS=1 GODEBUG=gcstoptheworld=1 valgrind --tool=cachegrind --cache-sim=no \
//	    /tmp/scan.test -test.run '^$' -test.bench 'Captured/check_decode$' -test.benchtime 20000x
//
// minus the same at -test.benchtime 1x, divided by 19999. Go's concurrent
// GC does a different amount of work run to run (thousands of
// instructions a request); stopping the world for it (or GOGC=off, for
// the decoder's own work) makes the count the same each run.
func BenchmarkCaptured(b *testing.B) {
	reqs := fliptcapture.WebhookRequests(b, false)
	lim := DefaultLimits()
	b.Run("check", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := lim.Check(reqs[i%len(reqs)].Body); err != nil {
				b.Fatal(err)
			}
		}
	})
	// The fresh plog.Logs alone, to take from check_decode.
	b.Run("new_logs", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			records := plog.NewLogs().ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
			records.EnsureCapacity(1)
		}
	})
	b.Run("check_decode", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			c, err := lim.Check(reqs[i%len(reqs)].Body)
			if err != nil {
				b.Fatal(err)
			}
			records := plog.NewLogs().ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
			records.EnsureCapacity(c.Events)
			if _, err := c.DecodeRecords(records.AppendEmpty, SourceWebhook, observed); err != nil {
				b.Fatal(err)
			}
		}
	})
}
