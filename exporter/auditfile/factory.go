package auditfile

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/otelcol-flipt/otelcol-flipt/exporter/auditfile/internal/metadata"
)

// NewFactory returns the audit_file exporter factory.
func NewFactory() exporter.Factory {
	return exporter.NewFactory(metadata.Type, createDefaultConfig,
		exporter.WithLogs(createLogs, metadata.LogsStability))
}

func createDefaultConfig() component.Config {
	return &Config{
		Format:          "json",
		OtherRecords:    otherWrite,
		FilePermissions: "0600",
		FlushInterval:   time.Second,
		Fsync:           "every_batch",
		Rotation:        RotationConfig{MaxMegabytes: 100},
		Merge:           MergeConfig{Window: 5 * time.Minute, MaxEntries: 100_000},
		TimeoutConfig:   exporterhelper.NewDefaultTimeoutConfig(),
		BackOffConfig:   configretry.NewDefaultBackOffConfig(),
		// Off unless configured: without a queue a batch is acknowledged
		// only once it is in the file.
		QueueConfig: configoptional.Default(defaultQueueConfig()),
	}
}

// defaultQueueConfig is the queue used when sending_queue is configured: one
// consumer, so the file keeps the order in which events were accepted.
func defaultQueueConfig() exporterhelper.QueueBatchConfig {
	q := exporterhelper.NewDefaultQueueConfig()
	q.NumConsumers = 1
	return q
}

func createLogs(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Logs, error) {
	c := cfg.(*Config)
	e, err := newExporter(c, set)
	if err != nil {
		return nil, err
	}
	return e.logs(ctx, set, c)
}

// logs wraps e in the exporterhelper with the configured timeout, retry
// and queue.
func (e *auditFileExporter) logs(ctx context.Context, set exporter.Settings, c *Config) (exporter.Logs, error) {
	return exporterhelper.NewLogs(ctx, set, c, e.consumeLogs,
		exporterhelper.WithStart(e.start),
		exporterhelper.WithShutdown(e.shutdown),
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
		exporterhelper.WithTimeout(c.TimeoutConfig),
		exporterhelper.WithRetry(c.BackOffConfig),
		exporterhelper.WithQueue(c.QueueConfig),
	)
}
