package fliptencodingextension

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/receiver/kafkareceiver"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/otelcol-flipt/otelcol-flipt/exporter/auditfile"
)

const (
	auditTopic = "flipt-audit"
	auditGroup = "otelcol-flipt"
)

// kafkaSettings are the kafka receiver settings the README and
// examples/kafka-audit-sink.yaml give: offsets marked only once the
// pipeline accepted a record, a retryable refusal retried, never skipped.
func kafkaSettings(brokers []string, encodingID string) map[string]any {
	return map[string]any{
		"brokers":        brokers,
		"group_id":       auditGroup,
		"initial_offset": "earliest",
		"logs":           map[string]any{"topics": []string{auditTopic}, "encoding": encodingID},
		"message_marking": map[string]any{
			"after":              true,
			"on_error":           false,
			"on_permanent_error": true,
		},
		"error_backoff": map[string]any{
			"enabled":          true,
			"initial_interval": "10ms",
			"max_interval":     "50ms",
		},
	}
}

// extensionHost serves the encoding extension to the receiver, as the
// collector's service does.
type extensionHost struct {
	component.Host
	ext map[component.ID]component.Component
}

func (h extensionHost) GetExtensions() map[component.ID]component.Component { return h.ext }

// startReceiver builds contrib's kafka receiver from its factory, reading
// through a flipt_encoding extension, into next.
func startReceiver(t *testing.T, brokers []string, encoding string, next consumer.Logs) receiver.Logs {
	t.Helper()
	id := component.MustNewIDWithName("flipt_encoding", encoding)
	host := extensionHost{Host: componenttest.NewNopHost(), ext: map[component.ID]component.Component{
		id: newEncoding(t, encoding, nopSettings()),
	}}
	f := kafkareceiver.NewFactory()
	cfg := f.CreateDefaultConfig()
	require.NoError(t, confmap.NewFromStringMap(kafkaSettings(brokers, id.String())).Unmarshal(cfg))
	r, err := f.CreateLogs(context.Background(), receivertest.NewNopSettings(f.Type()), cfg, next)
	require.NoError(t, err)
	require.NoError(t, r.Start(context.Background(), host))
	return r
}

// startAuditFile builds a real audit_file exporter writing path.
func startAuditFile(t *testing.T, path string) exporter.Logs {
	t.Helper()
	f := auditfile.NewFactory()
	cfg := f.CreateDefaultConfig()
	require.NoError(t, componentConfSet(cfg, path))
	exp, err := f.CreateLogs(context.Background(), exportertest.NewNopSettings(f.Type()), cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, exp.Shutdown(context.Background())) })
	return exp
}

// produceCaptured starts an in-process Kafka broker and produces the
// captured records into it with Flipt's keys, as Flipt's franz-go
// producer did (acks all, idempotent).
func produceCaptured(t *testing.T, name string, partitions int32) (*kfake.Cluster, *kgo.Client) {
	t.Helper()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, auditTopic))
	require.NoError(t, err)
	t.Cleanup(cluster.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...), kgo.DefaultProduceTopic(auditTopic))
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	for _, r := range readRecords(t, name) {
		require.NoError(t, cl.ProduceSync(context.Background(), &kgo.Record{Key: []byte(r.Key), Value: r.value}).FirstErr())
	}
	return cluster, cl
}

func fileLines(path string) int {
	data, _ := os.ReadFile(path)
	return bytes.Count(data, []byte{'\n'})
}

// Flipt's Kafka topic, read by the real kafka receiver through
// flipt_encoding into audit_file, becomes Flipt's own audit.log: both
// encodings, registry header or not.
func TestKafkaReceiverWritesFliptsAuditLog(t *testing.T) {
	for _, run := range runs {
		t.Run(run.records, func(t *testing.T) {
			cluster, _ := produceCaptured(t, run.records, 1)
			path := filepath.Join(t.TempDir(), "audit.log")
			exp := startAuditFile(t, path)
			r := startReceiver(t, cluster.ListenAddrs(), run.encoding, exp)
			require.Eventually(t, func() bool { return fileLines(path) >= 51 }, 30*time.Second, 20*time.Millisecond)
			require.NoError(t, r.Shutdown(context.Background()))
			want, err := os.ReadFile(filepath.Join(captures, run.log))
			require.NoError(t, err)
			got, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, string(want), string(got))
		})
	}
}

// gate accepts the first n batches into next and refuses the rest with a
// retryable error, as a full disk or a stopped downstream would.
type gate struct {
	next     consumer.Logs
	open     atomic.Int64
	refusals atomic.Int64
}

func (g *gate) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (g *gate) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	if g.open.Add(-1) < 0 {
		g.refusals.Add(1)
		return errors.New("downstream unavailable")
	}
	return g.next.ConsumeLogs(ctx, ld)
}

// An offset is committed only once the pipeline accepted its record: with
// the pipeline refusing after 20 records, the group's committed offset
// stays at 20 however long the receiver retries, and a new receiver of the
// same group resumes there: the file ends as Flipt's audit.log, every
// event once, none lost.
func TestKafkaOffsetsCommittedOnlyAfterAccept(t *testing.T) {
	const accepted = 20
	cluster, cl := produceCaptured(t, "protobuf-records.ndjson", 1)
	path := filepath.Join(t.TempDir(), "audit.log")
	exp := startAuditFile(t, path)

	g := &gate{next: exp}
	g.open.Store(accepted)
	r := startReceiver(t, cluster.ListenAddrs(), EncodingProtobuf, g)
	require.Eventually(t, func() bool { return fileLines(path) == accepted && g.refusals.Load() >= 3 },
		30*time.Second, 20*time.Millisecond, "20 accepted, then the same record refused and retried")
	require.NoError(t, r.Shutdown(context.Background()))

	adm := kadm.NewClient(cl)
	offsets, err := adm.FetchOffsets(context.Background(), auditGroup)
	require.NoError(t, err)
	committed, ok := offsets.Lookup(auditTopic, 0)
	require.True(t, ok, "the group committed the accepted records")
	assert.Equal(t, int64(accepted), committed.At, "committed offset = records the pipeline accepted")
	assert.Equal(t, accepted, fileLines(path))

	r = startReceiver(t, cluster.ListenAddrs(), EncodingProtobuf, exp)
	require.Eventually(t, func() bool { return fileLines(path) >= 51 }, 30*time.Second, 20*time.Millisecond)
	require.NoError(t, r.Shutdown(context.Background()))
	want, err := os.ReadFile(filepath.Join(captures, "audit-protobuf.log"))
	require.NoError(t, err)
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, string(want), string(got), "resumed at the committed offset: no event lost, none twice")

	offsets, err = adm.FetchOffsets(context.Background(), auditGroup)
	require.NoError(t, err)
	committed, _ = offsets.Lookup(auditTopic, 0)
	assert.Equal(t, int64(51), committed.At)
}

// A record that is no Flipt event is counted, logged and its offset
// passed (on_permanent_error: true), so it cannot stall the partition;
// every event around it is written.
func TestKafkaBadRecordDoesNotStallPartition(t *testing.T) {
	cluster, cl := produceCaptured(t, "protobuf-records.ndjson", 1)
	require.NoError(t, cl.ProduceSync(context.Background(), &kgo.Record{Key: []byte("flag"), Value: []byte("not an event")}).FirstErr())
	for _, rec := range readRecords(t, "protobuf-records.ndjson")[:2] {
		require.NoError(t, cl.ProduceSync(context.Background(), &kgo.Record{Key: []byte(rec.Key), Value: rec.value}).FirstErr())
	}
	path := filepath.Join(t.TempDir(), "audit.log")
	exp := startAuditFile(t, path)
	r := startReceiver(t, cluster.ListenAddrs(), EncodingProtobuf, exp)
	require.Eventually(t, func() bool { return fileLines(path) >= 53 }, 30*time.Second, 20*time.Millisecond)
	require.NoError(t, r.Shutdown(context.Background()))
	assert.Equal(t, 53, fileLines(path))
}
