package filetail

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
)

// countingStorage passes everything to a real storage extension and counts
// what is written, whatever the layout of the checkpoints.
type countingStorage struct {
	storage.Extension
	writes, bytes atomic.Int64
}

func (s *countingStorage) GetClient(ctx context.Context, kind component.Kind, id component.ID, name string) (storage.Client, error) {
	c, err := s.Extension.GetClient(ctx, kind, id, name)
	return &countingClient{Client: c, s: s}, err
}

type countingClient struct {
	storage.Client
	s *countingStorage
}

func (c *countingClient) Set(ctx context.Context, key string, value []byte) error {
	c.s.writes.Add(1)
	c.s.bytes.Add(int64(len(key) + len(value)))
	return c.Client.Set(ctx, key, value)
}

func (c *countingClient) Delete(ctx context.Context, key string) error {
	c.s.writes.Add(1)
	c.s.bytes.Add(int64(len(key)))
	return c.Client.Delete(ctx, key)
}

func (c *countingClient) Batch(ctx context.Context, ops ...*storage.Operation) error {
	for _, op := range ops {
		if op.Type != storage.Get {
			c.s.writes.Add(1)
			c.s.bytes.Add(int64(len(op.Key) + len(op.Value)))
		}
	}
	return c.Client.Batch(ctx, ops...)
}

// BenchmarkCheckpointCost reads n new one-line files with checkpoints on a
// real file_storage, and reports the storage writes and bytes that took.
//
//	go test -run '^$' -bench CheckpointCost -benchtime 1x ./receiver/fliptaudit/internal/filetail/
func BenchmarkCheckpointCost(b *testing.B) {
	line := fliptcapture.Lines(b, "audit.log")[0]
	for _, n := range []int{500, 2000, 4000} {
		b.Run(fmt.Sprintf("files=%d", n), func(b *testing.B) {
			dir := b.TempDir()
			for i := range n {
				if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("audit-%05d.log", i)), append(line, '\n'), 0o600); err != nil {
					b.Fatal(err)
				}
			}
			var writes, written int64
			for b.Loop() {
				st := &countingStorage{Extension: newFileStorage(b)}
				var mu sync.Mutex
				got := 0
				consume := func(_ context.Context, ld plog.Logs) error {
					mu.Lock()
					defer mu.Unlock()
					got += ld.LogRecordCount()
					return nil
				}
				cfg := NewDefaultConfig()
				cfg.Include = []string{filepath.Join(dir, "*.log")}
				cfg.PollInterval = 5 * time.Millisecond
				cfg.Storage = &storageID
				tl := New(&cfg, componenttest.NewNopTelemetrySettings(), receiverID, consume, nil)
				if err := tl.Start(context.Background(), host{storageID: st}); err != nil {
					b.Fatal(err)
				}
				deadline := time.Now().Add(10 * time.Minute)
				for {
					mu.Lock()
					done := got >= n
					mu.Unlock()
					if done {
						break
					}
					if time.Now().After(deadline) {
						b.Fatalf("%d of %d records", got, n)
					}
					time.Sleep(time.Millisecond)
				}
				if err := tl.Shutdown(context.Background()); err != nil {
					b.Fatal(err)
				}
				writes, written = st.writes.Load(), st.bytes.Load()
			}
			b.ReportMetric(float64(writes), "writes/op")
			b.ReportMetric(float64(written)/(1<<20), "MiB-written/op")
		})
	}
}

// BenchmarkIdlePoll is one poll of n files with nothing new: a glob, one
// stat per file, no descriptor opened.
//
//	go test -run '^$' -bench IdlePoll ./receiver/fliptaudit/internal/filetail/
func BenchmarkIdlePoll(b *testing.B) {
	line := fliptcapture.Lines(b, "audit.log")[0]
	for _, n := range []int{500, 4000, 21000} {
		b.Run(fmt.Sprintf("files=%d", n), func(b *testing.B) {
			dir := b.TempDir()
			for i := range n {
				if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("audit-%05d.log", i)), append(line, '\n'), 0o600); err != nil {
					b.Fatal(err)
				}
			}
			cfg := NewDefaultConfig()
			cfg.Include = []string{filepath.Join(dir, "*.log")}
			var got atomic.Int64
			tl := New(&cfg, componenttest.NewNopTelemetrySettings(), receiverID, func(_ context.Context, ld plog.Logs) error {
				got.Add(int64(ld.LogRecordCount()))
				return nil
			}, nil)
			tl.firstPoll, tl.known = true, map[fileID]stored{}
			defer tl.pool.closeAll()
			tl.poll(context.Background())
			if got.Load() != int64(n) {
				b.Fatalf("%d of %d records", got.Load(), n)
			}
			opened := tl.pool.peak.Load()
			for b.Loop() {
				tl.poll(context.Background())
			}
			if tl.pool.peak.Load() != opened || got.Load() != int64(n) {
				b.Fatal("an idle poll opened or read something")
			}
		})
	}
}
