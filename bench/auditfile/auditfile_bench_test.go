// Package auditfile benchmarks the audit_file exporter beside contrib's file
// exporter (format: json) on the same batches of captured Flipt audit
// events, both built from their factories.
//
//	cd bench && go test -run '^$' -bench . -benchmem ./auditfile/
package auditfile

import (
	"context"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/fileexporter"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-flipt/otelcol-flipt/exporter/auditfile"
	"github.com/otelcol-flipt/otelcol-flipt/internal/auditevent"
	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
)

const batchSize = 100

// batch is batchSize captured audit events (audit.log lines, cycled) as the
// flipt_audit receiver makes them, and the size of their audit.log lines.
func batch(b *testing.B) (plog.Logs, int) {
	lines := fliptcapture.Lines(b, "audit.log")
	ld := plog.NewLogs()
	records := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	size := 0
	for i := range batchSize {
		l := lines[i%len(lines)]
		size += len(l) + 1
		if err := auditevent.DecodeRecord(l, records.AppendEmpty(), auditevent.SourceFile, 1); err != nil {
			b.Fatal(err)
		}
	}
	ld.MarkReadOnly()
	return ld, size
}

func run(b *testing.B, f exporter.Factory, cfg component.Config) {
	ld, size := batch(b)
	ctx := context.Background()
	exp, err := f.CreateLogs(ctx, exportertest.NewNopSettings(f.Type()), cfg)
	if err != nil {
		b.Fatal(err)
	}
	if err := exp.Start(ctx, componenttest.NewNopHost()); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(size)) // audit volume per batch, the same for both
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for b.Loop() {
		if err := exp.ConsumeLogs(ctx, ld); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	records := float64(b.N) * batchSize
	b.ReportMetric(records/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/records, "allocs/record")
	if err := exp.Shutdown(ctx); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkContribFileExporterJSON(b *testing.B) {
	f := fileexporter.NewFactory()
	cfg := f.CreateDefaultConfig().(*fileexporter.Config)
	cfg.Path = filepath.Join(b.TempDir(), "contrib.json")
	cfg.FormatType = "json"
	run(b, f, cfg)
}

func BenchmarkAuditFile(b *testing.B) {
	for _, fsync := range []string{"never", "on_flush", "every_batch"} {
		b.Run("fsync="+fsync, func(b *testing.B) {
			f := auditfile.NewFactory()
			cfg := f.CreateDefaultConfig().(*auditfile.Config)
			cfg.Path = filepath.Join(b.TempDir(), "flipt-audit.log")
			cfg.Fsync = fsync
			run(b, f, cfg)
		})
	}
	b.Run("fsync=never/flush_interval=0", func(b *testing.B) {
		f := auditfile.NewFactory()
		cfg := f.CreateDefaultConfig().(*auditfile.Config)
		cfg.Path = filepath.Join(b.TempDir(), "flipt-audit.log")
		cfg.Fsync, cfg.FlushInterval = "never", 0
		run(b, f, cfg)
	})
	b.Run("fsync=every_batch/hash_chain", func(b *testing.B) {
		f := auditfile.NewFactory()
		cfg := f.CreateDefaultConfig().(*auditfile.Config)
		cfg.Path = filepath.Join(b.TempDir(), "flipt-audit.log")
		cfg.HashChain = true
		run(b, f, cfg)
	})
}

// concurrentSenders is the number of callers of the concurrent benchmarks:
// the webhook's shape under load, one event per request, each caller waiting
// for its answer.
const concurrentSenders = 64

// runConcurrent has concurrentSenders goroutines consume single-event
// batches (audit.log lines, cycled) at once.
func runConcurrent(b *testing.B, f exporter.Factory, cfg component.Config) {
	lines := fliptcapture.Lines(b, "audit.log")
	singles := make([]plog.Logs, len(lines))
	size := 0
	for i, l := range lines {
		singles[i] = plog.NewLogs()
		if err := auditevent.DecodeRecord(l, singles[i].ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty(), auditevent.SourceWebhook, 1); err != nil {
			b.Fatal(err)
		}
		singles[i].MarkReadOnly()
		size += len(l) + 1
	}
	ctx := context.Background()
	exp, err := f.CreateLogs(ctx, exportertest.NewNopSettings(f.Type()), cfg)
	if err != nil {
		b.Fatal(err)
	}
	if err := exp.Start(ctx, componenttest.NewNopHost()); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(size / len(lines)))
	b.ReportAllocs()
	b.SetParallelism((concurrentSenders + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if err := exp.ConsumeLogs(ctx, singles[i%len(singles)]); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	if err := exp.Shutdown(ctx); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkContribFileExporterJSONConcurrent(b *testing.B) {
	f := fileexporter.NewFactory()
	cfg := f.CreateDefaultConfig().(*fileexporter.Config)
	cfg.Path = filepath.Join(b.TempDir(), "contrib.json")
	cfg.FormatType = "json"
	runConcurrent(b, f, cfg)
}

// BenchmarkAuditFileConcurrent is where the group commit shows: with fsync
// every_batch, concurrent single-event batches share one write and fsync.
func BenchmarkAuditFileConcurrent(b *testing.B) {
	for _, tc := range []struct {
		name  string
		fsync string
		chain bool
	}{{"fsync=every_batch", "every_batch", false}, {"fsync=every_batch/hash_chain", "every_batch", true}, {"fsync=never", "never", false}} {
		b.Run(tc.name, func(b *testing.B) {
			f := auditfile.NewFactory()
			cfg := f.CreateDefaultConfig().(*auditfile.Config)
			cfg.Path = filepath.Join(b.TempDir(), "flipt-audit.log")
			cfg.Fsync, cfg.HashChain = tc.fsync, tc.chain
			runConcurrent(b, f, cfg)
		})
	}
}
