package auditfile

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/otelcol-flipt/otelcol-flipt/exporter/auditfile/internal/merge"
	"github.com/otelcol-flipt/otelcol-flipt/exporter/auditfile/internal/metadata"
	"github.com/otelcol-flipt/otelcol-flipt/exporter/auditfile/internal/metadatatest"
	"github.com/otelcol-flipt/otelcol-flipt/internal/auditevent"
	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
)

var ignore = []metricdatatest.Option{metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars()}

func merged(source string, n int64) metricdata.DataPoint[int64] {
	return metricdata.DataPoint[int64]{Value: n, Attributes: attribute.NewSet(attribute.String("source", source))}
}

func joinLines(lines [][]byte) string {
	var b strings.Builder
	for _, l := range lines {
		b.Write(l)
		b.WriteByte('\n')
	}
	return b.String()
}

func interleave(a, b []plog.Logs) []plog.Logs {
	var out []plog.Logs
	for i := range max(len(a), len(b)) {
		if i < len(a) {
			out = append(out, a[i])
		}
		if i < len(b) {
			out = append(out, b[i])
		}
	}
	return out
}

// The 53 captured events reach the exporter complete from two or three
// sources, in any order: the file holds each once, in Flipt's order.
func TestMergeCompleteCopiesWriteOnce(t *testing.T) {
	web, _ := webhookBatches(t)
	trace := traceBatches(t)
	for _, tc := range []struct {
		name    string
		batches []plog.Logs
		merged  []metricdata.DataPoint[int64]
	}{
		{"webhook then trace", slices.Concat(web, trace), []metricdata.DataPoint[int64]{merged("trace", 53)}},
		{"trace then webhook", slices.Concat(trace, web), []metricdata.DataPoint[int64]{merged("webhook", 53)}},
		{"interleaved", interleave(web, records(trace...)), []metricdata.DataPoint[int64]{merged("trace", 53)}},
		{"webhook, file, trace", slices.Concat(web, []plog.Logs{auditLogBatch(t)}, trace),
			[]metricdata.DataPoint[int64]{merged("file", 53), merged("trace", 53)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t)
			exp, tt := started(t, cfg)
			consume(t, exp, tc.batches...)
			require.NoError(t, exp.Shutdown(context.Background()))
			assert.Equal(t, string(fliptcapture.AuditLog(t)), readFile(t, cfg.Path))
			metadatatest.AssertEqualAuditFileRecordsWritten(t, tt, []metricdata.DataPoint[int64]{{Value: 53}}, ignore...)
			metadatatest.AssertEqualAuditFileRecordsMerged(t, tt, tc.merged, ignore...)
			metadatatest.AssertEqualAuditFileMergeEntries(t, tt, []metricdata.DataPoint[int64]{{Value: 53}}, ignore...)
		})
	}
}

// Each source lost different events: the file holds the union, each once.
func TestMergeFillsGaps(t *testing.T) {
	web, _ := webhookBatches(t)
	trace := records(traceBatches(t)...)
	lines := fliptcapture.Lines(t, "audit.log")
	webLost, traceLost := []int{3, 4, 5, 40}, []int{0, 20, 52}
	var want [][]byte
	var in []plog.Logs
	for i := range web {
		if !slices.Contains(webLost, i) {
			in = append(in, web[i])
			want = append(want, lines[i])
		}
	}
	for i := range trace {
		if !slices.Contains(traceLost, i) {
			in = append(in, trace[i])
		}
	}
	for _, i := range webLost {
		want = append(want, lines[i]) // filled in, in the order the trace brings them
	}
	cfg := testConfig(t)
	exp, tt := started(t, cfg)
	consume(t, exp, in...)
	require.NoError(t, exp.Shutdown(context.Background()))
	assert.Equal(t, joinLines(want), readFile(t, cfg.Path))
	metadatatest.AssertEqualAuditFileRecordsMerged(t, tt, []metricdata.DataPoint[int64]{merged("trace", 53-3-4)}, ignore...)
}

// Two events with identical bytes from one source are two events (Flipt
// sent them twice); copies from another source are merged against both.
func TestMergeKeepsRepeatsFromOneSource(t *testing.T) {
	line := fliptcapture.Lines(t, "audit.log")[7]
	cfg := testConfig(t)
	exp, tt := started(t, cfg)
	consume(t, exp,
		logsOf(t, auditevent.SourceWebhook, line, line), // twice in one batch
		logsOf(t, auditevent.SourceTrace, line),
		logsOf(t, auditevent.SourceTrace, line),
	)
	assert.Equal(t, joinLines([][]byte{line, line}), readFile(t, cfg.Path))
	consume(t, exp, logsOf(t, auditevent.SourceTrace, line)) // a third one the webhook lost
	require.NoError(t, exp.Shutdown(context.Background()))
	assert.Equal(t, joinLines([][]byte{line, line, line}), readFile(t, cfg.Path))
	metadatatest.AssertEqualAuditFileRecordsMerged(t, tt, []metricdata.DataPoint[int64]{merged("trace", 2)}, ignore...)
}

// Records without a source, and other records, are never merged.
func TestMergeLeavesRecordsWithoutSource(t *testing.T) {
	line := fliptcapture.Lines(t, "audit.log")[0]
	noSource := logsOf(t, auditevent.SourceWebhook, line)
	noSource.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes().Remove(auditevent.AttrSource)
	cfg := testConfig(t)
	exp, _ := started(t, cfg)
	consume(t, exp, logsOf(t, auditevent.SourceWebhook, line), noSource, foreignLogs(), foreignLogs())
	require.NoError(t, exp.Shutdown(context.Background()))
	got := strings.Split(strings.TrimSuffix(readFile(t, cfg.Path), "\n"), "\n")
	require.Len(t, got, 4)
	assert.Equal(t, []string{string(line), string(line)}, got[:2])
	assert.Equal(t, got[2], got[3])
}

// A batch that was not written leaves no count behind: its retry, or a copy
// from another source, is written.
func TestMergeFailedWriteIsNotACopy(t *testing.T) {
	line := fliptcapture.Lines(t, "audit.log")[11]
	cfg := testConfig(t)
	require.NoError(t, os.MkdirAll(cfg.Path, 0o700)) // a directory where the file should be
	exp, tt := started(t, cfg)
	err := exp.ConsumeLogs(context.Background(), logsOf(t, auditevent.SourceWebhook, line))
	require.Error(t, err)
	require.False(t, consumererror.IsPermanent(err))
	require.NoError(t, os.Remove(cfg.Path))

	consume(t, exp, logsOf(t, auditevent.SourceTrace, line))
	assert.Equal(t, joinLines([][]byte{line}), readFile(t, cfg.Path), "the copy is the first one written")
	consume(t, exp, logsOf(t, auditevent.SourceWebhook, line)) // Flipt's retry
	require.NoError(t, exp.Shutdown(context.Background()))
	assert.Equal(t, joinLines([][]byte{line}), readFile(t, cfg.Path))
	metadatatest.AssertEqualAuditFileRecordsMerged(t, tt, []metricdata.DataPoint[int64]{merged("webhook", 1)}, ignore...)
}

// A copy arriving while the write of its first copy is still under way waits
// for that write: when it fails, the copy is written, so an event is never
// acknowledged on the strength of a write that then failed.
func TestMergeCopyWaitsForTheFirstWrite(t *testing.T) {
	line := fliptcapture.Lines(t, "audit.log")[23]
	cfg := testConfig(t)
	require.NoError(t, os.MkdirAll(cfg.Path, 0o700))
	var (
		failing = make(chan struct{}, 1) // the first write has failed and is about to return
		release = make(chan struct{})
		waits   = make(chan struct{}, 1)
		once    sync.Once
		armed   = make(chan struct{})
	)
	exp, _, _ := build(t, cfg, newStatusHost(), func(e *auditFileExporter) {
		count := e.opts.Events.WriteError
		e.opts.Events.WriteError = func() {
			count()
			select {
			case <-armed: // the writer holds its lock here, the committer its group
				once.Do(func() { failing <- struct{}{}; <-release })
			default:
			}
		}
		e.waiting = func() { waits <- struct{}{} }
	})
	close(armed)

	first := make(chan error, 1)
	go func() { first <- exp.ConsumeLogs(context.Background(), logsOf(t, auditevent.SourceWebhook, line)) }()
	<-failing
	second := make(chan error, 1)
	go func() { second <- exp.ConsumeLogs(context.Background(), logsOf(t, auditevent.SourceTrace, line)) }()
	<-waits                                 // the copy waits for the first write's outcome
	require.NoError(t, os.Remove(cfg.Path)) // the file could be written now
	close(release)

	require.Error(t, <-first)
	require.NoError(t, <-second)
	assert.Equal(t, joinLines([][]byte{line}), readFile(t, cfg.Path), "the copy was written, not merged")
	consume(t, exp, logsOf(t, auditevent.SourceWebhook, line)) // the retry of the first
	require.NoError(t, exp.Shutdown(context.Background()))
	assert.Equal(t, joinLines([][]byte{line}), readFile(t, cfg.Path), "written once")
}

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// The window and max_entries bound the memory; forgetting an event early is
// counted, and a later copy of it is written again (at least once).
func TestMergeWindowAndMaxEntries(t *testing.T) {
	lines := fliptcapture.Lines(t, "audit.log")
	clk := &testClock{t: time.Unix(1_700_000_000, 0)}
	cfg := testConfig(t)
	cfg.Merge = MergeConfig{Window: 5 * time.Minute, MaxEntries: 2}
	exp, _, tt := build(t, cfg, newStatusHost(), func(e *auditFileExporter) {
		e.merge.table = merge.New(cfg.Merge.Window, cfg.Merge.MaxEntries, clk.now)
	})
	web := func(i int) plog.Logs { return logsOf(t, auditevent.SourceWebhook, lines[i]) }
	trace := func(i int) plog.Logs { return logsOf(t, auditevent.SourceTrace, lines[i]) }

	consume(t, exp, web(0))
	clk.add(5*time.Minute - time.Second)
	consume(t, exp, trace(0)) // in the window: merged
	clk.add(time.Second)
	consume(t, exp, trace(0)) // window over: written again
	assert.Equal(t, joinLines([][]byte{lines[0], lines[0]}), readFile(t, cfg.Path))
	_, err := tt.GetMetric("otelcol_audit_file_merge_evictions")
	assert.Error(t, err, "expiry at the end of the window is no early eviction")

	consume(t, exp, web(1), web(2)) // three events, room for two: 0 goes early
	consume(t, exp, trace(2))       // still known: merged
	consume(t, exp, trace(0))       // forgotten: written again
	require.NoError(t, exp.Shutdown(context.Background()))
	assert.Equal(t, joinLines([][]byte{lines[0], lines[0], lines[1], lines[2], lines[0]}), readFile(t, cfg.Path))
	metadatatest.AssertEqualAuditFileMergeEvictions(t, tt, []metricdata.DataPoint[int64]{{Value: 2}}, ignore...)
	metadatatest.AssertEqualAuditFileMergeEntries(t, tt, []metricdata.DataPoint[int64]{{Value: 2}}, ignore...)
	metadatatest.AssertEqualAuditFileRecordsMerged(t, tt, []metricdata.DataPoint[int64]{merged("trace", 2)}, ignore...)
}

// merge.window: 0 writes every copy, as before merging existed.
func TestMergeOff(t *testing.T) {
	web, _ := webhookBatches(t)
	cfg := testConfig(t)
	cfg.Merge.Window = 0
	exp, _ := started(t, cfg)
	consume(t, exp, slices.Concat(web, traceBatches(t))...)
	require.NoError(t, exp.Shutdown(context.Background()))
	log := string(fliptcapture.AuditLog(t))
	assert.Equal(t, log+log, readFile(t, cfg.Path))
}

// BenchmarkMerge is the cost of the merge per record beside the exporter
// without it, on batches of the 53 captured events: from one source (every
// record hashed, counted and written) and from two (half of them copies,
// acknowledged without writing).
func BenchmarkMerge(b *testing.B) {
	lines := fliptcapture.Lines(b, "audit.log")
	web := logsOf(b, auditevent.SourceWebhook, lines...)
	trace := logsOf(b, auditevent.SourceTrace, lines...)
	for _, sources := range [][]plog.Logs{{web}, {web, trace}} {
		for _, window := range []time.Duration{0, 5 * time.Minute} {
			name := fmt.Sprintf("sources=%d/merge=%t", len(sources), window > 0)
			b.Run(name, func(b *testing.B) {
				cfg := NewFactory().CreateDefaultConfig().(*Config)
				cfg.Path = filepath.Join(b.TempDir(), "flipt-audit.log")
				cfg.Fsync = "never" // the exporter's own cost, not the disk's
				cfg.Merge.Window = window
				tt := componenttest.NewTelemetry()
				defer func() { _ = tt.Shutdown(context.Background()) }()
				exp, err := NewFactory().CreateLogs(context.Background(), metadatatest.NewSettings(tt), cfg)
				require.NoError(b, err)
				require.NoError(b, exp.Start(context.Background(), componenttest.NewNopHost()))
				defer func() { _ = exp.Shutdown(context.Background()) }()
				ctx := context.Background()
				b.ReportAllocs()
				for b.Loop() {
					for _, ld := range sources {
						if err := exp.ConsumeLogs(ctx, ld); err != nil {
							b.Fatal(err)
						}
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(sources)*len(lines)), "ns/record")
			})
		}
	}
}

// BenchmarkMergeDecision isolates what the merge adds to a record: the hash
// of its line (in the caller), the table lookup and the commit (in the
// committer), per batch of 53 records.
func BenchmarkMergeDecision(b *testing.B) {
	lines := fliptcapture.Lines(b, "audit.log")
	ld := logsOf(b, auditevent.SourceWebhook, lines...)
	tt := componenttest.NewTelemetry()
	defer func() { _ = tt.Shutdown(context.Background()) }()
	tel, err := metadata.NewTelemetryBuilder(metadatatest.NewSettings(tt).TelemetrySettings)
	require.NoError(b, err)
	m := newMerger(MergeConfig{Window: 5 * time.Minute, MaxEntries: 100_000}, tel)
	enc := encoder{format: auditevent.FormatJSON, merging: true}
	ctx := context.Background()
	var bt batch
	var out []byte
	b.ReportAllocs()
	for b.Loop() {
		bt.reset()
		enc.appendLogs(&bt, ld)
		m.begin(ctx)
		m.decide(&bt)
		out = bt.appendKept(out[:0])
		m.finish(ctx, true)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(lines)), "ns/record")
}
