// Package config holds otelcol-flipt's default pipeline and the confmap
// provider that serves it under the URI "flipt:default".
package config

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"regexp"
	"strings"

	"go.opentelemetry.io/collector/confmap"
	"go.uber.org/zap"
)

// envDefault matches the ${env:NAME:-default} settings of default.yaml.
var envDefault = regexp.MustCompile(`\$\{env:([A-Z0-9_]+):-([^}]*)\}`)

// settingFields lists every environment setting of the default pipeline
// with the value it takes, so the start log says where the collector
// listens and writes. Secrets are only said to be set or not.
func settingFields(lookup func(string) (string, bool)) []zap.Field {
	var fields []zap.Field
	seen := map[string]bool{}
	for _, m := range envDefault.FindAllSubmatch(DefaultYAML, -1) {
		name, value := string(m[1]), string(m[2])
		if seen[name] {
			continue
		}
		seen[name] = true
		if v, ok := lookup(name); ok && v != "" {
			value = v
		}
		if strings.Contains(name, "SECRET") {
			value = map[bool]string{true: "set", false: "not set"}[value != ""]
		}
		fields = append(fields, zap.String(name, value))
	}
	return fields
}

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
	p.logger.Info("No --config given: running the embedded default Flipt pipeline (config/default.yaml)",
		settingFields(os.LookupEnv)...)
	return confmap.NewRetrievedFromYAML(DefaultYAML)
}

func (*provider) Scheme() string { return Scheme }

func (*provider) Shutdown(context.Context) error { return nil }
