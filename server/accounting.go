package server

import (
	"sort"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// tokenAccounts counts tokens per device: counts only, keyed by the
// limiter's keyed hash of the device key, so it holds no device id that
// could be reversed. Metrics expose only the distribution across devices
// (how many devices used how many tokens), never a per-device series.
//
// It is bounded: past maxAccounts devices the smallest account is dropped,
// so a flood of new devices cannot grow it without limit.
type tokenAccounts struct {
	mu       sync.Mutex
	max      int
	accounts map[string]*tokenAccount
}

type tokenAccount struct {
	requests, prompt, completion uint64
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
			t.evictSmallest()
		}
		a = &tokenAccount{}
		t.accounts[device] = a
	}
	a.requests++
	a.prompt += uint64(prompt)
	a.completion += uint64(completion)
}

func (t *tokenAccounts) evictSmallest() {
	var victim string
	var least uint64
	for k, a := range t.accounts {
		if victim == "" || a.completion < least {
			victim, least = k, a.completion
		}
	}
	delete(t.accounts, victim)
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
