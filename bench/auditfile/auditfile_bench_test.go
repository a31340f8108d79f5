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
