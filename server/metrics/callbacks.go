package metrics

import (
	"math"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// EngineStats is a snapshot of the inference engine's capacity.
type EngineStats struct {
	Queued       int // requests waiting for a slot
	BusySlots    int
	Slots        int
	KVCellsUsed  int
	KVCellsTotal int
	// Prompt tokens decoded, and reused from conversations' cached
	// prefixes (private multi-turn), since the engine started.
	PromptTokensPrefilled, PromptTokensCached uint64
}

// LockedBudget is the locked-memory budget's view the metrics need;
// *locked.Budget satisfies it. A negative Limit means unlimited.
type LockedBudget interface {
	InUse() int64
	Limit() int64
}

// SetEngineStats installs the callback read at every scrape for
// queued_requests, busy_slots, slots, kv_cells_used and kv_cells_capacity. Until it is set,
// those metrics are absent. f must be fast and safe for concurrent use.
func (m *Metrics) SetEngineStats(f func() EngineStats) { m.engine.f.Store(&f) }

// SetLockedBudget installs the budget read at every scrape for
// locked_bytes_in_use and locked_bytes_limit (+Inf when unlimited).
func (m *Metrics) SetLockedBudget(b LockedBudget) { m.locked.b.Store(&b) }

// engineCollector reads the engine's stats once per scrape, so the five
// gauges come from one consistent snapshot.
type engineCollector struct {
	f                                    atomic.Pointer[func() EngineStats]
	queued, busy, slots, kvUsed, kvTotal *prometheus.Desc
	prefilled, cached                    *prometheus.Desc
}

var _ prometheus.Collector = (*engineCollector)(nil)

func newEngineCollector() *engineCollector {
	return &engineCollector{
		queued:    desc("queued_requests", "Requests waiting for a slot."),
		busy:      desc("busy_slots", "Inference slots generating now."),
		slots:     desc("slots", "Inference slots configured."),
		kvUsed:    desc("kv_cells_used", "KV cache cells in use."),
		kvTotal:   desc("kv_cells_capacity", "KV cache cells in total (named _capacity, not _total, which Prometheus reserves for counters)."),
		prefilled: desc("prompt_tokens_prefilled_total", "Prompt tokens decoded by the engine."),
		cached:    desc("prompt_tokens_cached_total", "Prompt tokens reused from conversations' cached prefixes instead of decoded."),
	}
}

func (c *engineCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.queued
	ch <- c.busy
	ch <- c.slots
	ch <- c.kvUsed
	ch <- c.kvTotal
	ch <- c.prefilled
	ch <- c.cached
}

func (c *engineCollector) Collect(ch chan<- prometheus.Metric) {
	f := c.f.Load()
	if f == nil {
		return
	}
	s := (*f)()
	ch <- prometheus.MustNewConstMetric(c.queued, prometheus.GaugeValue, float64(s.Queued))
	ch <- prometheus.MustNewConstMetric(c.busy, prometheus.GaugeValue, float64(s.BusySlots))
	ch <- prometheus.MustNewConstMetric(c.slots, prometheus.GaugeValue, float64(s.Slots))
	ch <- prometheus.MustNewConstMetric(c.kvUsed, prometheus.GaugeValue, float64(s.KVCellsUsed))
	ch <- prometheus.MustNewConstMetric(c.kvTotal, prometheus.GaugeValue, float64(s.KVCellsTotal))
	ch <- prometheus.MustNewConstMetric(c.prefilled, prometheus.CounterValue, float64(s.PromptTokensPrefilled))
	ch <- prometheus.MustNewConstMetric(c.cached, prometheus.CounterValue, float64(s.PromptTokensCached))
}

// lockedCollector reads the locked-memory budget at scrape time.
type lockedCollector struct {
	b            atomic.Pointer[LockedBudget]
	inUse, limit *prometheus.Desc
}

var _ prometheus.Collector = (*lockedCollector)(nil)

func newLockedCollector() *lockedCollector {
	return &lockedCollector{
		inUse: desc("locked_bytes_in_use", "Locked (mlock'ed) bytes held for secrets and plaintext."),
		limit: desc("locked_bytes_limit", "Locked-memory budget in bytes (+Inf when unlimited)."),
	}
}

func (c *lockedCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.inUse
	ch <- c.limit
}

func (c *lockedCollector) Collect(ch chan<- prometheus.Metric) {
	b := c.b.Load()
	if b == nil {
		return
	}
	limit := float64((*b).Limit())
	if limit < 0 {
		limit = math.Inf(1)
	}
	ch <- prometheus.MustNewConstMetric(c.inUse, prometheus.GaugeValue, float64((*b).InUse()))
	ch <- prometheus.MustNewConstMetric(c.limit, prometheus.GaugeValue, limit)
}

func desc(name, help string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(namespace, "", name), help, nil, nil)
}
