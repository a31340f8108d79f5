package fliptaudit

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"

	"github.com/otelcol-flipt/otelcol-flipt/internal/auditevent"
	"github.com/otelcol-flipt/otelcol-flipt/receiver/fliptaudit/internal/metadata"
)

// NewFactory returns the flipt_audit receiver factory (webhook and file).
func NewFactory() receiver.Factory {
	return receiver.NewFactory(
		metadata.Type,
		func() component.Config { return createDefaultConfig() },
		receiver.WithLogs(createLogs, metadata.LogsStability),
	)
}

// NewConnectorFactory returns the flipt_audit traces-to-logs connector
// factory (span events). The builder calls NewFactory of a package, so the
// distribution lists the fliptauditconnector package, whose NewFactory
// returns this.
func NewConnectorFactory() connector.Factory {
	return connector.NewFactory(
		metadata.Type,
		func() component.Config { return createDefaultConnectorConfig() },
		connector.WithTracesToLogs(createTracesToLogs, metadata.TracesToLogsStability),
	)
}

func createLogs(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Logs) (receiver.Logs, error) {
	return newReceiver(set, cfg.(*Config), next)
}

func createTracesToLogs(_ context.Context, set connector.Settings, cfg component.Config, next consumer.Logs) (connector.Traces, error) {
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	c := cfg.(*ConnectorConfig)
	lim := auditevent.Limits{MaxDepth: c.MaxDepth, MaxMembers: c.MaxMembers, MaxElements: c.MaxElements}
	return &tracesToLogs{next: next, telemetry: tb, now: time.Now, limits: lim}, nil
}
