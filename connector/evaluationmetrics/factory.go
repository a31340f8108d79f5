package evaluationmetrics // import "github.com/otelcol-flipt/otelcol-flipt/connector/evaluationmetrics"

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/consumer"

	"github.com/otelcol-flipt/otelcol-flipt/connector/evaluationmetrics/internal/metadata"
)

// NewFactory returns the factory of the evaluation_metrics traces → metrics
// and logs → metrics connector.
func NewFactory() connector.Factory {
	f := &factory{instances: map[component.ID]*shared{}}
	return connector.NewFactory(
		metadata.Type,
		createDefaultConfig,
		connector.WithTracesToMetrics(f.createTracesToMetrics, metadata.TracesToMetricsStability),
		connector.WithLogsToMetrics(f.createLogsToMetrics, metadata.LogsToMetricsStability),
	)
}

func createDefaultConfig() component.Config {
	return &Config{
		Labels:               LabelsV1,
		Sources:              Sources{Flipt: true, OpenFeature: true},
		OpenFeatureNamespace: "default",
		FlushInterval:        15 * time.Second,
		SeriesExpiration:     5 * time.Minute,
		MaxSeries:            2000,
		MaxLabelLength:       128,
		ResourceKeys:         []string{"service.name", "service.instance.id"},
		Sampling:             Sampling{DefaultRatio: 1, Tracestate: true},
		// Five minutes is exporterhelper's default retry max_elapsed_time.
		Dedup: Dedup{Window: 5 * time.Minute, MaxEntries: 100_000},
	}
}

// factory shares one connector between the traces and the logs pipelines of
// one component ID, so the two never emit the same series twice.
type factory struct {
	mu        sync.Mutex
	instances map[component.ID]*shared
}

// shared is one connector and the pipelines using it.
type shared struct {
	c    *evalConnector
	refs int // created handles not yet shut down
	runs int // handles started
}

func (f *factory) get(set connector.Settings, cfg *Config, next consumer.Metrics) (*shared, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s, ok := f.instances[set.ID]; ok {
		s.refs++
		return s, nil
	}
	c, err := newConnector(set, cfg, next, time.Now)
	if err != nil {
		return nil, err
	}
	s := &shared{c: c, refs: 1}
	f.instances[set.ID] = s
	return s, nil
}

func (f *factory) start(s *shared, ctx context.Context, host component.Host) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	s.runs++
	if s.runs == 1 {
		return s.c.Start(ctx, host)
	}
	return nil
}

func (f *factory) shutdown(id component.ID, s *shared, started bool, ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if started {
		s.runs--
	}
	s.refs--
	if s.refs > 0 {
		return nil
	}
	if f.instances[id] == s {
		delete(f.instances, id)
	}
	return s.c.Shutdown(ctx)
}

// handle is what one pipeline holds.
type handle struct {
	*evalConnector
	f       *factory
	id      component.ID
	s       *shared
	started bool
	done    bool
}

func (h *handle) Start(ctx context.Context, host component.Host) error {
	h.started = true
	return h.f.start(h.s, ctx, host)
}

func (h *handle) Shutdown(ctx context.Context) error {
	if h.done {
		return nil
	}
	h.done = true
	return h.f.shutdown(h.id, h.s, h.started, ctx)
}

func (f *factory) createTracesToMetrics(_ context.Context, set connector.Settings, cfg component.Config, next consumer.Metrics) (connector.Traces, error) {
	s, err := f.get(set, cfg.(*Config), next)
	if err != nil {
		return nil, err
	}
	return &handle{evalConnector: s.c, f: f, id: set.ID, s: s}, nil
}

func (f *factory) createLogsToMetrics(_ context.Context, set connector.Settings, cfg component.Config, next consumer.Metrics) (connector.Logs, error) {
	s, err := f.get(set, cfg.(*Config), next)
	if err != nil {
		return nil, err
	}
	return &handle{evalConnector: s.c, f: f, id: set.ID, s: s}, nil
}
