package cachemetrics // import "github.com/otelcol-flipt/otelcol-flipt/processor/cachemetrics"

import (
	"context"
	"runtime"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"

	"github.com/otelcol-flipt/otelcol-flipt/internal/periodic"
)

// cacheConnector aggregates under one lock and emits after unlocking.
type cacheConnector struct {
	logger     *zap.Logger
	next       consumer.Metrics
	now        func() time.Time // injected so tests control time
	interval   time.Duration
	expiration time.Duration
	names      [numOutcomes]string
	idx        *attrIndex
	attr       *attrRules
	tel        *telemetry

	spare chan *batch // free scratch for ConsumeTraces calls, one per CPU
	keys  int         // attribute keys in one scan

	mu            sync.Mutex
	store         *store
	inf           *inferrer
	dedup         *dedup // nil when off
	stats         stats
	ts            pcommon.Timestamp // time of the call holding the lock
	lastEvictions uint64
	lastOverflow  uint64
	lastDedupEv   uint64

	flusher *periodic.Loop // between Start and Shutdown
}

var _ connector.Traces = (*cacheConnector)(nil)

func newConnector(set connector.Settings, cfg *Config, next consumer.Metrics, now func() time.Time) (*cacheConnector, error) {
	tel, err := newTelemetry(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	c := &cacheConnector{
		logger:     set.Logger,
		next:       next,
		now:        now,
		interval:   cfg.FlushInterval,
		expiration: cfg.SeriesExpiration,
		names:      [numOutcomes]string{cfg.Metrics.Hit, cfg.Metrics.Miss, cfg.Metrics.Error},
		tel:        tel,
		store:      newStore(cfg.ResourceKeys, cfg.MaxSeries, cfg.MaxLabelValueLength),
		dedup:      newDedup(cfg.Dedup),
	}
	keys := newScanKeys(cfg)
	c.idx = newAttrIndex(keys.all)
	c.keys = len(keys.all)
	c.spare = make(chan *batch, runtime.GOMAXPROCS(0))
	c.attr = newAttrRules(cfg.AttributeRules, keys, c.idx)
	c.inf = newInferrer(cfg.Inference, cfg.inferenceRules(), keys, c.decided)
	return c, nil
}

// decided counts an inferred lookup; called with the lock held.
func (c *cacheConnector) decided(p *pendingLookup, o outcome) {
	c.store.addCached(&p.rule.counted, p.res, p.rule.cache, p.rule.typ, o, c.ts)
	c.stats.lookups[kindInference][o]++
}

func (*cacheConnector) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: false}
}

func (c *cacheConnector) Start(context.Context, component.Host) error {
	c.flusher = periodic.Start(c.interval, func() { c.flush(context.Background()) })
	return nil
}

func (c *cacheConnector) Shutdown(context.Context) error {
	if c.flusher != nil {
		c.flusher.Stop()
		c.flusher = nil
	}
	c.tel.tb.Shutdown()
	return nil
}

// ConsumeTraces takes the whole batch at once: inference needs every span
// of it before deciding any lookup, because OTLP does not keep end order
// inside a request. The spans are classified without the lock (scan); the
// lock covers only the shared tables (apply).
func (c *cacheConnector) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	b := c.getBatch()
	c.scan(b, td)
	c.mu.Lock()
	c.apply(b)
	s := c.takeStats()
	c.mu.Unlock()
	c.putBatch(b)
	c.tel.record(ctx, &s)
	return nil
}

// getBatch takes a free scratch, or makes one when all are in use.
func (c *cacheConnector) getBatch() *batch {
	select {
	case b := <-c.spare:
		return b
	default:
		return newBatch(c.keys)
	}
}

// putBatch keeps b for a later call unless enough are kept already.
func (c *cacheConnector) putBatch(b *batch) {
	if !b.reset() {
		return
	}
	select {
	case c.spare <- b:
	default:
	}
}

// apply counts a scanned batch into the shared state; called with the lock
// held. The clock is read here so time moves forward in lock order. The
// dedup table is shared too: each lookup span of the batch is looked up in
// it here, in span order, so the same span twice in one export, or in two
// calls at once, counts once. A span seen within the window counts nothing,
// by either rule kind.
func (c *cacheConnector) apply(b *batch) {
	now := c.now()
	c.ts = pcommon.NewTimestampFromTime(now)
	nanos := now.UnixNano()
	c.stats.spans += b.spans
	c.dedup.expire(nanos)
	start := int32(0)
	for i := range b.sightings {
		sp := &b.sightings[i]
		lookups := b.lookups[start:sp.end]
		start = sp.end
		if !c.dedup.first(sp.key, sp.ided, nanos) {
			if sp.found != noFound {
				b.found[sp.found].resent = true
			}
			continue
		}
		for j := range lookups {
			l := &lookups[j]
			c.store.add(b.res[l.res].get(), l.cache, l.typ, l.o, c.ts)
			c.stats.lookups[kindAttribute][l.o]++
		}
	}
	if c.inf != nil {
		c.inf.endBatch(b, nanos)
	}
}

// flush decides lookups whose wait is over, drops idle series and emits
// every live series. The next consumer is called without the lock.
func (c *cacheConnector) flush(ctx context.Context) {
	now := c.now()
	c.mu.Lock()
	c.ts = pcommon.NewTimestampFromTime(now)
	tableSize := 0
	if c.inf != nil {
		c.inf.expirePending(now.UnixNano())
		tableSize = c.inf.size()
	}
	dedupSize := 0
	if c.dedup != nil {
		c.dedup.expire(now.UnixNano())
		dedupSize = c.dedup.seen.Len()
	}
	c.store.expire(pcommon.NewTimestampFromTime(now.Add(-c.expiration)))
	md := c.store.build(c.names, c.ts)
	series := c.store.n
	s := c.takeStats()
	c.mu.Unlock()

	c.tel.record(ctx, &s)
	c.tel.gauges(ctx, series, tableSize, dedupSize)
	if md.ResourceMetrics().Len() == 0 {
		return
	}
	if err := c.next.ConsumeMetrics(ctx, md); err != nil {
		c.logger.Warn("Failed to emit cache metrics", zap.Error(err))
	}
}

// takeStats drains the counters gathered under the lock.
func (c *cacheConnector) takeStats() stats {
	s := c.stats
	c.stats = stats{}
	s.overflow = int64(c.store.overflowed - c.lastOverflow)
	c.lastOverflow = c.store.overflowed
	s.truncated = int64(c.store.truncated)
	c.store.truncated = 0
	if c.inf != nil {
		ev := c.inf.evictions()
		s.evictions = int64(ev - c.lastEvictions)
		c.lastEvictions = ev
	}
	if c.dedup != nil {
		s.duplicates = int64(c.dedup.duplicates)
		c.dedup.duplicates = 0
		ev := c.dedup.seen.Evictions()
		s.dedupEvictions = int64(ev - c.lastDedupEv)
		c.lastDedupEv = ev
	}
	return s
}
