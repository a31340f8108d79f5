package fliptauditconnector

import (
	"context"
	"testing"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer/consumertest"
)

// The builder's generated components.go calls NewFactory: it must be the
// flipt_audit traces-to-logs connector and nothing else.
func TestNewFactory(t *testing.T) {
	f := NewFactory()
	if f.Type() != component.MustNewType("flipt_audit") {
		t.Fatalf("type %v", f.Type())
	}
	if f.TracesToLogsStability() != component.StabilityLevelAlpha {
		t.Errorf("traces_to_logs stability %v", f.TracesToLogsStability())
	}
	if _, err := f.CreateTracesToMetrics(context.Background(), connectortest.NewNopSettings(f.Type()), f.CreateDefaultConfig(), consumertest.NewNop()); err == nil {
		t.Error("traces to metrics should not be supported")
	}
	c, err := f.CreateTracesToLogs(context.Background(), connectortest.NewNopSettings(f.Type()), f.CreateDefaultConfig(), consumertest.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}
