package server

import (
	"container/heap"
	"sort"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// tokenAccounts counts tokens per device: counts only, keyed by the
// limiter's keyed hash of the device key, so it holds no device id that
// could be reversed. Metrics expose only the distribution across devices
// (how many devices used how many tokens), never a per-device series.
//
// It is bounded: past max devices the account with the fewest completion
// tokens is dropped, so a flood of new devices cannot grow it without
// limit. A min-heap on completion tokens finds that account in O(log n):
// a new device never scans the table under the lock.
type tokenAccounts struct {
	mu       sync.Mutex
	max      int
	accounts map[string]*tokenAccount
	least    accountHeap
}

type tokenAccount struct {
	device                       string
	requests, prompt, completion uint64
	index                        int // in least
}

// accountHeap orders accounts by completion tokens, smallest first
// (container/heap).
type accountHeap []*tokenAccount

func (h accountHeap) Len() int           { return len(h) }
func (h accountHeap) Less(i, j int) bool { return h[i].completion < h[j].completion }
func (h accountHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *accountHeap) Push(x any) {
	a := x.(*tokenAccount)
	a.index = len(*h)
	*h = append(*h, a)
}
func (h *accountHeap) Pop() any {
	old := *h
	a := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return a
}

// accountBuckets are the per-device completion-token totals the histogram
// sorts devices into.
var accountBuckets = []float64{100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000}

func newTokenAccounts(max int) *tokenAccounts {
	return &tokenAccounts{max: max, accounts: make(map[string]*tokenAccount)}
}

// add records one finished request of device.
func (t *tokenAccounts) add(device string, prompt, completion int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	a := t.accounts[device]
	if a == nil {
		if len(t.accounts) >= t.max {
			victim := heap.Pop(&t.least).(*tokenAccount)
			delete(t.accounts, victim.device)
		}
		a = &tokenAccount{device: device}
		t.accounts[device] = a
		heap.Push(&t.least, a)
	}
	a.requests++
	a.prompt += uint64(prompt)
	a.completion += uint64(completion)
	heap.Fix(&t.least, a.index)
}

// snapshot returns the per-device completion totals, sorted.
func (t *tokenAccounts) snapshot() []uint64 {
	t.mu.Lock()
	out := make([]uint64, 0, len(t.accounts))
	for _, a := range t.accounts {
		out = append(out, a.completion)
	}
	t.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

var deviceTokensDesc = prometheus.NewDesc("sotto_device_completion_tokens",
	"Distribution of generated tokens per device since start (one observation per device; no device ids).", nil, nil)

// Describe implements prometheus.Collector.
func (t *tokenAccounts) Describe(ch chan<- *prometheus.Desc) { ch <- deviceTokensDesc }

// Collect implements prometheus.Collector: a histogram built at scrape
// time from the accounts.
func (t *tokenAccounts) Collect(ch chan<- prometheus.Metric) {
	totals := t.snapshot()
	buckets := make(map[float64]uint64, len(accountBuckets))
	var sum float64
	i := 0
	for _, ub := range accountBuckets {
		for i < len(totals) && float64(totals[i]) <= ub {
			i++
		}
		buckets[ub] = uint64(i)
	}
	for _, v := range totals {
		sum += float64(v)
	}
	ch <- prometheus.MustNewConstHistogram(deviceTokensDesc, uint64(len(totals)), sum, buckets)
}

var _ prometheus.Collector = (*tokenAccounts)(nil)
