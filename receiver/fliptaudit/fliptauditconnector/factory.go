// Package fliptauditconnector registers the flipt_audit traces-to-logs
// connector with the collector builder, which calls NewFactory of each
// listed package; the connector itself lives in package fliptaudit.
package fliptauditconnector // import "github.com/otelcol-flipt/otelcol-flipt/receiver/fliptaudit/fliptauditconnector"

import (
	"go.opentelemetry.io/collector/connector"

	"github.com/otelcol-flipt/otelcol-flipt/receiver/fliptaudit"
)

// NewFactory returns the flipt_audit connector factory.
func NewFactory() connector.Factory { return fliptaudit.NewConnectorFactory() }
