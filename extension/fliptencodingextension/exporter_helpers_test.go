package fliptencodingextension

import (
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
)

// componentConfSet points an audit_file config at path.
func componentConfSet(cfg component.Config, path string) error {
	return confmap.NewFromStringMap(map[string]any{"path": path}).Unmarshal(cfg)
}

func metricdataAssertOpts() []metricdatatest.Option {
	return []metricdatatest.Option{metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars()}
}
