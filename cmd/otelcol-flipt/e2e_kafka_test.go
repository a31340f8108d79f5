package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/otelcol-flipt/otelcol-flipt/internal/e2etest"
	"github.com/otelcol-flipt/otelcol-flipt/internal/fliptcapture"
)

// kafkaCaptures holds Flipt v1.61.1's Kafka sink records and its audit.log
// of the same events.
var kafkaCaptures = filepath.Join(fliptcapture.Dir(), "kafka")

// kafkaRecord is one captured record: Flipt's key and value bytes.
type kafkaRecord struct{ key, value []byte }

func readKafkaRecords(t *testing.T, name string) []kafkaRecord {
	t.Helper()
	f, err := os.Open(filepath.Join(kafkaCaptures, name))
	require.NoError(t, err)
	defer f.Close()
	var out []kafkaRecord
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r struct {
			Key   string `json:"key_text"`
			Value string `json:"value_b64"`
		}
		require.NoError(t, json.Unmarshal(sc.Bytes(), &r))
		v, err := base64.StdEncoding.DecodeString(r.Value)
		require.NoError(t, err)
		out = append(out, kafkaRecord{[]byte(r.Key), v})
	}
	require.NoError(t, sc.Err())
	return out
}

// startKafka starts an in-process Kafka-protocol broker on loopback with
// topic (one partition, so the file's order is the topic's) and a client.
func startKafka(t *testing.T, topic string) (*kfake.Cluster, *kgo.Client) {
	t.Helper()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, topic))
	require.NoError(t, err)
	t.Cleanup(cluster.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...), kgo.DefaultProduceTopic(topic))
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	return cluster, cl
}

func produce(t *testing.T, cl *kgo.Client, records []kafkaRecord) {
	t.Helper()
	for _, r := range records {
		require.NoError(t, cl.ProduceSync(context.Background(), &kgo.Record{Key: r.key, Value: r.value}).FirstErr())
	}
}

// exampleCollector runs one of examples/ with env, on loopback addresses.
type exampleCollector struct {
	config string
	env    []string
	health string
	dir    string
}

func newExampleCollector(t *testing.T, example string, env ...string) *exampleCollector {
	t.Helper()
	health := e2etest.FreeAddr(t)
	return &exampleCollector{
		config: filepath.Join(e2etest.RepoRoot(), "examples", example),
		health: health,
		dir:    t.TempDir(),
		env: append(env,
			"OTELCOL_FLIPT_HEALTH_ENDPOINT="+health,
			"OTELCOL_FLIPT_TELEMETRY_PORT="+strings.Split(e2etest.FreeAddr(t), ":")[1],
		),
	}
}

func (c *exampleCollector) start(t *testing.T) *e2etest.Collector {
	t.Helper()
	col := e2etest.Start(t, e2etest.Options{Args: []string{"--config", c.config}, Env: c.env, Dir: c.dir})
	col.WaitHealthy("http://" + c.health)
	return col
}

// fileLines returns the lines of the file at path (none if it is absent).
func fileLines(path string) []string {
	data, err := os.ReadFile(path)
	if err != nil || len(data) == 0 {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

// onceOrReplayed checks got against want when a restart may replay the
// records after the last committed offset: every line of want is in got,
// the first copies in want's order, and nothing else. It returns how many
// lines are second copies.
func onceOrReplayed(t *testing.T, want, got []string) (duplicates int) {
	t.Helper()
	seen := map[string]bool{}
	var first []string
	for _, l := range got {
		if seen[l] {
			duplicates++
			continue
		}
		seen[l] = true
		first = append(first, l)
	}
	assert.Equal(t, want, first, "every event, in order, nothing else")
	return duplicates
}

// Flipt's Kafka topic, read by the built binary with
// examples/kafka-audit-sink.yaml, becomes Flipt's own audit.log (protobuf
// and Avro); SIGKILLed mid-run and restarted, it resumes at the committed
// offset: every event is in the file, second copies only of records after
// the last commit, counted.
func TestE2EKafkaSink(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	for _, run := range []struct {
		encoding, records, log string
		kill                   bool
	}{
		{"protobuf", "protobuf-sr-records.ndjson", "audit-protobuf-sr.log", true},
		{"avro", "avro-records.ndjson", "audit-avro.log", false},
	} {
		t.Run(run.encoding, func(t *testing.T) {
			cluster, cl := startKafka(t, "flipt-audit")
			records := readKafkaRecords(t, run.records)
			want := fileLines(filepath.Join(kafkaCaptures, run.log))
			require.Len(t, want, 51)
			c := newExampleCollector(t, "kafka-audit-sink.yaml",
				"OTELCOL_FLIPT_KAFKA_BROKERS="+cluster.ListenAddrs()[0],
				"OTELCOL_FLIPT_KAFKA_ENCODING="+run.encoding,
			)
			path := filepath.Join(c.dir, "flipt-audit.log")
			c.env = append(c.env, "OTELCOL_FLIPT_AUDIT_FILE="+path)

			if !run.kill {
				produce(t, cl, records)
				col := c.start(t)
				col.WaitFor("every event", func() bool { return len(fileLines(path)) >= 51 })
				stopAuditFileCollector(t, col)
				assert.Equal(t, want, fileLines(path), "Flipt's audit.log, byte for byte")
				return
			}
			produce(t, cl, records[:30])
			col := c.start(t)
			col.WaitFor("30 lines", func() bool { return len(fileLines(path)) >= 30 })
			col.Signal(syscall.SIGKILL)
			require.Error(t, col.Wait(30*time.Second), "killed")

			produce(t, cl, records[30:])
			col = c.start(t)
			col.WaitFor("every event", func() bool { return countDistinct(fileLines(path)) >= 51 })
			stopAuditFileCollector(t, col)
			dups := onceOrReplayed(t, want, fileLines(path))
			t.Logf("SIGKILL after 30 of 51 records: %d second copies (records since the last commit)", dups)
		})
	}
}

func countDistinct(lines []string) int {
	seen := map[string]bool{}
	for _, l := range lines {
		seen[l] = true
	}
	return len(seen)
}

// The durable hand-off of examples/audit-handoff-*.yaml: Flipt's webhook
// into the edge binary, each event acknowledged only once Kafka has it;
// the central binary writes the file from the topic. SIGKILLed mid-run and
// restarted, the central one resumes at its committed offset: every event
// acknowledged to Flipt is in the file, in order, second copies counted.
func TestE2EKafkaHandoff(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	const topic = "flipt-audit-handoff"
	cluster, _ := startKafka(t, topic)
	brokers := "OTELCOL_FLIPT_KAFKA_BROKERS=" + cluster.ListenAddrs()[0]
	webhook := e2etest.FreeAddr(t)
	edge := newExampleCollector(t, "audit-handoff-edge.yaml", brokers,
		"OTELCOL_FLIPT_WEBHOOK_ENDPOINT="+webhook, "OTELCOL_FLIPT_WEBHOOK_SECRET=s3cr3t")
	central := newExampleCollector(t, "audit-handoff-central.yaml", brokers)
	path := filepath.Join(central.dir, "flipt-audit.log")
	central.env = append(central.env, "OTELCOL_FLIPT_AUDIT_FILE="+path)
	edge.start(t)
	col := central.start(t)

	var bodies []fliptcapture.WebhookRequest
	seen := map[string]bool{}
	for _, req := range append(fliptcapture.WebhookRequests(t, false), fliptcapture.WebhookRequests(t, true)...) {
		if !seen[string(req.Body)] {
			seen[string(req.Body)] = true
			bodies = append(bodies, req)
		}
	}
	post := func(req fliptcapture.WebhookRequest) {
		resp := e2etest.Post(t, "http://"+webhook+"/flipt/audit", "application/json", req.Body,
			"X-Flipt-Webhook-Signature", req.Header("X-Flipt-Webhook-Signature"))
		require.Equal(t, 200, resp.Status, "webhook request %d: %s", req.Seq, resp.Body)
	}
	half := len(bodies) / 2
	for _, req := range bodies[:half] {
		post(req)
	}
	col.WaitFor("some events in the file", func() bool { return len(fileLines(path)) >= 10 })
	col.Signal(syscall.SIGKILL)
	require.Error(t, col.Wait(30*time.Second), "killed")
	// The edge keeps acknowledging: Kafka holds what the central one has not read.
	for _, req := range bodies[half:] {
		post(req)
	}
	col = central.start(t)
	want := strings.Split(strings.TrimSuffix(string(fliptcapture.AuditLog(t)), "\n"), "\n")
	col.WaitFor("every acknowledged event", func() bool { return countDistinct(fileLines(path)) >= len(want) })
	stopAuditFileCollector(t, col)
	dups := onceOrReplayed(t, want, fileLines(path))
	t.Logf("%d events acknowledged to Flipt, all in the file; SIGKILL of the central collector: %d second copies", len(want), dups)
}

// The edge answers Flipt's webhook only once Kafka acknowledged the event:
// with the broker holding the produce request, the webhook call stays
// unanswered; released, it is answered 200 and the event is on the topic
// in Flipt's JSON.
func TestE2EKafkaHandoffAcksAfterKafka(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	const topic = "flipt-audit-handoff"
	cluster, _ := startKafka(t, topic)
	webhook := e2etest.FreeAddr(t)
	edge := newExampleCollector(t, "audit-handoff-edge.yaml", "OTELCOL_FLIPT_KAFKA_BROKERS="+cluster.ListenAddrs()[0],
		"OTELCOL_FLIPT_WEBHOOK_ENDPOINT="+webhook, "OTELCOL_FLIPT_WEBHOOK_SECRET=s3cr3t")
	edge.start(t)

	held := make(chan struct{}, 1)
	release := make(chan struct{})
	var once sync.Once
	cluster.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		cluster.KeepControl()
		select {
		case held <- struct{}{}:
		default:
		}
		cluster.SleepControl(func() { <-release })
		return nil, nil, false // then the broker handles it as usual
	})
	t.Cleanup(func() { once.Do(func() { close(release) }) })

	req := fliptcapture.WebhookRequests(t, false)[0]
	answered := make(chan int, 1)
	go func() {
		resp := e2etest.Post(t, "http://"+webhook+"/flipt/audit", "application/json", req.Body,
			"X-Flipt-Webhook-Signature", req.Header("X-Flipt-Webhook-Signature"))
		answered <- resp.Status
	}()
	<-held
	assert.Never(t, func() bool { return len(answered) > 0 }, 500*time.Millisecond, 10*time.Millisecond,
		"answered while Kafka had not acknowledged")
	once.Do(func() { close(release) })
	assert.Equal(t, 200, <-answered)

	consumer, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	require.NoError(t, err)
	defer consumer.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	fetches := consumer.PollFetches(ctx)
	require.NoError(t, fetches.Err())
	records := fetches.Records()
	require.Len(t, records, 1)
	want := strings.SplitN(string(fliptcapture.AuditLog(t)), "\n", 2)[0] + "\n"
	assert.Equal(t, want, string(records[0].Value), "the event as Flipt's log sink line")
}
