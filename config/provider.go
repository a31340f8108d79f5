// Package config holds otelcol-flipt's default pipeline and the confmap
// provider that serves it under the URI "flipt:default".
package config

import (
	"context"
	_ "embed"
	"fmt"

	"go.opentelemetry.io/collector/confmap"
	"go.uber.org/zap"
)

// Scheme is the URI scheme of the provider; DefaultURI names the embedded
// default pipeline.
const (
	Scheme     = "flipt"
	DefaultURI = Scheme + ":default"
)

// DefaultYAML is config/default.yaml, compiled into the binary.
//
//go:embed default.yaml
var DefaultYAML []byte

type provider struct {
	logger *zap.Logger
}

// NewFactory returns the factory of the "flipt:" provider. It is listed in
// builder-config.yaml like any other provider.
func NewFactory() confmap.ProviderFactory {
	return confmap.NewProviderFactory(func(set confmap.ProviderSettings) confmap.Provider {
		logger := set.Logger
		if logger == nil {
			logger = zap.NewNop()
		}
		return &provider{logger: logger}
	})
}

func (p *provider) Retrieve(_ context.Context, uri string, _ confmap.WatcherFunc) (*confmap.Retrieved, error) {
	if uri != DefaultURI {
		return nil, fmt.Errorf("%q: the %q provider only serves %q", uri, Scheme, DefaultURI)
	}
	p.logger.Info("No --config given: running the embedded default Flipt pipeline (config/default.yaml). " +
		"Listen addresses and paths follow the OTELCOL_FLIPT_* environment variables documented there.")
	return confmap.NewRetrievedFromYAML(DefaultYAML)
}

func (*provider) Scheme() string { return Scheme }

func (*provider) Shutdown(context.Context) error { return nil }
