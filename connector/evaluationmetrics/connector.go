package evaluationmetrics // import "github.com/otelcol-flipt/otelcol-flipt/connector/evaluationmetrics"

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"

	"github.com/otelcol-flipt/otelcol-flipt/internal/periodic"
)

// evalConnector aggregates under one lock and emits after unlocking.
type evalConnector struct {
	logger     *zap.Logger
	next       consumer.Metrics
	now        func() time.Time // injected so tests control time
	interval   time.Duration
	expiration time.Duration
	sources    Sources
	ofNS       string
	sampler    *sampler
	tel        *telemetry

	mu     sync.Mutex
	store  *store
	dedup  *dedup
	stats  stats
	ts     pcommon.Timestamp // time of the call holding the lock
	items  []responseItem    // reused by evaluation_response decoding
	lastOv uint64
	lastTr uint64
	lastEv uint64

	flusher *periodic.Loop // between Start and Shutdown
}

var (
	_ connector.Traces = (*evalConnector)(nil)
	_ connector.Logs   = (*evalConnector)(nil)
)

func newConnector(set connector.Settings, cfg *Config, next consumer.Metrics, now func() time.Time) (*evalConnector, error) {
	tel, err := newTelemetry(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	return &evalConnector{
		logger:     set.Logger,
		next:       next,
		now:        now,
		interval:   cfg.FlushInterval,
		expiration: cfg.SeriesExpiration,
		sources:    cfg.Sources,
		ofNS:       cfg.OpenFeatureNamespace,
		sampler:    newSampler(cfg.Sampling),
		tel:        tel,
		store:      newStore(cfg),
		dedup:      newDedup(cfg.Dedup),
	}, nil
}

func (*evalConnector) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: false}
}

func (c *evalConnector) Start(context.Context, component.Host) error {
	c.flusher = periodic.Start(c.interval, func() { c.flush(context.Background()) })
	return nil
}

// Shutdown emits what was counted since the last flush. Twice: a series
// made since then is emitted at 0 first, its count only by the second.
func (c *evalConnector) Shutdown(ctx context.Context) error {
	if c.flusher != nil {
		c.flusher.Stop()
		c.flusher = nil
		c.flush(ctx)
		c.flush(ctx)
	}
	c.tel.tb.Shutdown()
	return nil
}

func (c *evalConnector) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	now := c.now()
	c.mu.Lock()
	c.ts = pcommon.NewTimestampFromTime(now)
	nanos := now.UnixNano()
	c.dedup.expire(nanos)
	rss := td.ResourceSpans()
	for i := range rss.Len() {
		rs := rss.At(i)
		ref := resRef{s: c.store, attrs: rs.Resource().Attributes()}
		svc, _ := str(ref.attrs, "service.name")
		weight := c.sampler.serviceWeight(svc)
		sss := rs.ScopeSpans()
		for j := range sss.Len() {
			spans := sss.At(j).Spans()
			c.stats.spans += int64(spans.Len())
			c.dedup.prefetch(spans)
			for k := range spans.Len() {
				if span := spans.At(k); mayCount(span) {
					c.examine(span, &ref, weight, nanos)
				}
			}
		}
	}
	s := c.takeStats()
	c.mu.Unlock()
	c.tel.record(ctx, &s)
	return nil
}

// examine counts the evaluations one span that mayCount carries. The first
// count of a span records it for deduplication; a re-sent span counts
// nothing.
func (c *evalConnector) examine(span ptrace.Span, ref *resRef, weight float64, nanos int64) {
	events := span.Events()
	// One look at the event names says which readers have work.
	var kinds eventKind
	for i := range events.Len() {
		kinds |= kindOf(events.At(i).Name())
	}
	sp := spanState{c: c, span: span, service: weight, nanos: nanos}
	if c.sources.Flipt {
		if kinds&evV2 != 0 {
			// Every v2 event counts, so the span is looked up before the first.
			if !sp.first() {
				return
			}
			ms, w := durationMs(span), sp.weight()
			for i := range events.Len() {
				if kindOf(events.At(i).Name()) != evV2 {
					continue
				}
				e := eval{latencyMs: ms, weight: w}
				readV2Event(events.At(i).Attributes(), &e)
				c.count(ref, &e, srcV2)
			}
		} else {
			e := eval{weight: 1}
			name := span.Name()
			bulk := isBulk(name)
			// Flipt v1 writes its attributes on the server span of the
			// gRPC call; the HTTP span around it (as many again) has none.
			if !bulk && isFliptRPC(name) && readV1Span(span, &e) {
				if !sp.first() {
					return
				}
				e.weight = sp.weight()
				c.count(ref, &e, srcV1)
			} else if kinds&evResponse == 0 || !c.readResponses(ref, &sp) {
				switch {
				case bulk && !spanFailed(span):
					c.stats.skipped[skipBulk]++
				case isEvaluationSpan(name) && spanFailed(span):
					c.stats.skipped[skipFailed]++
				}
			}
		}
	}
	if c.sources.OpenFeature && kinds&evOpenFeature != 0 {
		for i := range events.Len() {
			ev := events.At(i)
			if kindOf(ev.Name()) != evOpenFeature {
				continue
			}
			e := eval{weight: 1}
			if !readOpenFeature(ev.Attributes(), nil, c.ofNS, &e) {
				continue
			}
			if !sp.first() {
				return
			}
			e.weight = sp.weight()
			c.count(ref, &e, srcOpenFeature)
		}
	}
}

// spanState is what examine learns about one span as it goes: whether it
// was seen before (asked once, before its first count) and its weight.
type spanState struct {
	c       *evalConnector
	span    ptrace.Span
	nanos   int64
	service float64 // the service's configured weight
	checked bool
	dup     bool
	w       float64
}

// first records the span for deduplication on the first call and reports
// whether it is new; a duplicate is counted as skipped once.
func (s *spanState) first() bool {
	if !s.checked {
		s.checked = true
		s.dup = !s.c.dedup.first(s.span, s.nanos)
		if s.dup {
			s.c.stats.skipped[skipDuplicate]++
		}
	}
	return !s.dup
}

func (s *spanState) weight() float64 {
	if s.w == 0 {
		s.w = s.c.sampler.spanWeight(s.span.TraceState().AsRaw(), s.service)
	}
	return s.w
}

// readResponses counts the results in the span's evaluation_response events
// (Flipt v1 with analytics enabled); it reports whether there was any.
func (c *evalConnector) readResponses(ref *resRef, sp *spanState) bool {
	events := sp.span.Events()
	found := false
	for i := range events.Len() {
		ev := events.At(i)
		if ev.Name() != v1ResponseEvent {
			continue
		}
		raw, ok := str(ev.Attributes(), v1ResponseAttr)
		if !ok {
			continue
		}
		found = true
		items, err := decodeResponse(raw, c.items)
		c.items = items
		if err != nil {
			c.stats.skipped[skipBadResponse]++
			continue
		}
		if len(items) == 0 || !sp.first() {
			continue
		}
		for j := range items {
			e := eval{latencyMs: durationMs(sp.span), weight: sp.weight()}
			items[j].fill(&e)
			c.count(ref, &e, srcV1Response)
		}
	}
	return found
}

func (c *evalConnector) count(ref *resRef, e *eval, src source) {
	c.store.add(ref.get(), e, c.ts)
	if e.err {
		c.stats.evals[src][1]++
	} else {
		c.stats.evals[src][0]++
	}
}

// ConsumeLogs counts feature_flag.evaluation log records of OpenFeature
// clients. Log records carry no sampling, so each counts once.
func (c *evalConnector) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	if !c.sources.OpenFeature {
		return nil
	}
	now := c.now()
	c.mu.Lock()
	c.ts = pcommon.NewTimestampFromTime(now)
	rls := ld.ResourceLogs()
	for i := range rls.Len() {
		rl := rls.At(i)
		ref := resRef{s: c.store, attrs: rl.Resource().Attributes()}
		sls := rl.ScopeLogs()
		for j := range sls.Len() {
			lrs := sls.At(j).LogRecords()
			c.stats.records += int64(lrs.Len())
			for k := range lrs.Len() {
				lr := lrs.At(k)
				if !isOpenFeatureRecord(lr) {
					continue
				}
				e := eval{weight: 1}
				body := lr.Body()
				if readOpenFeature(lr.Attributes(), &body, c.ofNS, &e) {
					c.count(&ref, &e, srcOpenFeature)
				}
			}
		}
	}
	s := c.takeStats()
	c.mu.Unlock()
	c.tel.record(ctx, &s)
	return nil
}

// flush drops idle series and emits every live one; the next consumer is
// called without the lock.
func (c *evalConnector) flush(ctx context.Context) {
	now := c.now()
	c.mu.Lock()
	c.ts = pcommon.NewTimestampFromTime(now)
	c.dedup.expire(now.UnixNano())
	c.store.expire(pcommon.NewTimestampFromTime(now.Add(-c.expiration)))
	md := c.store.build(c.ts)
	n := c.store.seriesCount()
	s := c.takeStats()
	c.mu.Unlock()

	c.tel.record(ctx, &s)
	c.tel.tb.EvaluationMetricsSeries.Record(ctx, int64(n))
	if md.ResourceMetrics().Len() == 0 {
		return
	}
	if err := c.next.ConsumeMetrics(ctx, md); err != nil {
		c.logger.Warn("Failed to emit evaluation metrics", zap.Error(err))
	}
}

func (c *evalConnector) takeStats() stats {
	s := c.stats
	c.stats = stats{}
	s.overflow = int64(c.store.overflowed - c.lastOv)
	c.lastOv = c.store.overflowed
	s.truncated = int64(c.store.truncated - c.lastTr)
	c.lastTr = c.store.truncated
	if c.dedup != nil {
		s.dedupEvicted = int64(c.dedup.evicted - c.lastEv)
		c.lastEv = c.dedup.evicted
	}
	return s
}
