package cachemetrics // import "github.com/otelcol-flipt/otelcol-flipt/processor/cachemetrics"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/consumer"

	"github.com/otelcol-flipt/otelcol-flipt/processor/cachemetrics/internal/metadata"
)

// NewFactory returns the factory of the cache_metrics traces → metrics connector.
func NewFactory() connector.Factory {
	return connector.NewFactory(
		metadata.Type,
		createDefaultConfig,
		connector.WithTracesToMetrics(createTracesToMetrics, metadata.TracesToMetricsStability),
	)
}

func createDefaultConfig() component.Config {
	return &Config{
		FlushInterval:    15 * time.Second,
		SeriesExpiration: 5 * time.Minute,
		MaxSeries:        1000,
		ResourceKeys:     []string{"service.name", "service.instance.id"},
		Metrics: MetricNames{
			Hit:   "flipt.cache.hit",
			Miss:  "flipt.cache.miss",
			Error: "flipt.cache.error",
		},
		// Room for any cache name, DNS host name or instance ID.
		MaxLabelValueLength: 256,
		AttributeRules: AttributeRules{
			Enabled:         true,
			SpanEvents:      true,
			HitAttributes:   []string{"cache.hit", "flipt.cache.hit"},
			ErrorAttributes: []string{"cache.error", "error.type"},
			ErrorOnStatus:   true,
			Cache:           LabelFrom{Attributes: []string{"cache.backend", "flipt.cache"}, Default: "unknown"},
			Type:            LabelFrom{Attributes: []string{"cache.type", "flipt.cache.type"}, Default: "unknown"},
		},
		Inference: Inference{
			Wait:       2 * time.Second,
			MaxEntries: 100_000,
			EntryTTL:   time.Minute,
			Backend: BackendMatcher{AnyOf: []AttributeCondition{
				{Key: "db.system.name"},
				{Key: "db.system"},
			}},
		},
		// Five minutes is exporterhelper's default retry max_elapsed_time,
		// longer than the OTel SDKs' one minute.
		Dedup: Dedup{Window: 5 * time.Minute, MaxEntries: 100_000},
	}
}

func createTracesToMetrics(_ context.Context, set connector.Settings, cfg component.Config, next consumer.Metrics) (connector.Traces, error) {
	return newConnector(set, cfg.(*Config), next, time.Now)
}
