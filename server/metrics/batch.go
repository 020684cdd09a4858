package metrics

import (
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
)

// Batched publication (issue 19, docs/deployment.md "Metrics"): a worker's
// metrics are scraped by the router's host, which relays every request
// and knows when each ends. Diffing live counters around one request would
// give its exact token counts (prompt_tokens_total, generated_tokens_total),
// its prefix-cache hit and its locked memory. With a batch of b, the
// scraped values are a snapshot taken when the b-th request since the last
// snapshot finished: they move only in steps of at least b requests
// together, so a scraper learns sums over b requests, never one.

// batcher holds the published snapshot.
type batcher struct {
	mu       sync.Mutex
	batch    int
	finished int // requests finished since the snapshot
	snapshot []*dto.MetricFamily
}

// RequestFinished counts one finished chat request; with a batch, the
// b-th refreshes the published snapshot.
func (m *Metrics) RequestFinished() {
	b := &m.batch
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.batch <= 1 {
		return
	}
	b.finished++
	if b.finished >= b.batch {
		b.finished = 0
		b.snapshot, _ = m.reg.Gather()
	}
}

// SetBatch makes the metrics publish in batches of n requests (n <= 1:
// live). The first snapshot is taken now: the values before any request.
func (m *Metrics) SetBatch(n int) {
	b := &m.batch
	b.mu.Lock()
	defer b.mu.Unlock()
	b.batch, b.finished = n, 0
	if n > 1 {
		b.snapshot, _ = m.reg.Gather()
	}
}

// gatherer serves the snapshot when batched, the live registry otherwise.
func (m *Metrics) gatherer() prometheus.Gatherer {
	return prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		b := &m.batch
		b.mu.Lock()
		batched, snap := b.batch > 1, b.snapshot
		b.mu.Unlock()
		if batched {
			return snap, nil
		}
		return m.reg.Gather()
	})
}

// Handler serves the metrics in the Prometheus exposition formats: live,
// or the batch snapshot (SetBatch).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.gatherer(), promhttp.HandlerOpts{
		ErrorHandling: promhttp.ContinueOnError,
		Registry:      m.reg,
	})
}
