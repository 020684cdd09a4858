package metrics

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// ReplayRegister is the in-memory replay register's view the metrics
// need; *replay.Memory satisfies it. A register without a fixed capacity
// (Redis) does not, and the two gauges stay absent.
type ReplayRegister interface {
	Len() int      // entries held, expired ones not yet swept included
	Capacity() int // entries the register holds before refusing (503 #overloaded)
}

// SetReplayRegister installs the register read at every scrape for
// replay_register_entries and replay_register_capacity. Until it is set,
// both are absent.
func (m *Metrics) SetReplayRegister(r ReplayRegister) { m.replay.r.Store(&r) }

// replayCollector reads the register's fill at scrape time. A full
// register refuses every new request, so its fill is an alert of its own.
type replayCollector struct {
	r                 atomic.Pointer[ReplayRegister]
	entries, capacity *prometheus.Desc
}

var _ prometheus.Collector = (*replayCollector)(nil)

func newReplayCollector() *replayCollector {
	return &replayCollector{
		entries:  desc("replay_register_entries", "Request ids held by the in-memory replay register (expired ones not yet swept included)."),
		capacity: desc("replay_register_capacity", "Request ids the in-memory replay register holds before it refuses requests as overloaded (REPLAY_REGISTER_SIZE)."),
	}
}

func (c *replayCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.entries
	ch <- c.capacity
}

func (c *replayCollector) Collect(ch chan<- prometheus.Metric) {
	r := c.r.Load()
	if r == nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(c.entries, prometheus.GaugeValue, float64((*r).Len()))
	ch <- prometheus.MustNewConstMetric(c.capacity, prometheus.GaugeValue, float64((*r).Capacity()))
}
