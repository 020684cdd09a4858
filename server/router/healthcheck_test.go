package router

import (
	"net/http"
	"testing"
	"time"

	"github.com/sottolabs/sotto/server/metrics"
)

// TestHealthCheckRemovesAndReturns: a worker whose capacity check fails
// leaves the pool (its gauge reads 0 and no request reaches it, whatever
// the device) and, once the check passes again, returns and is sent
// requests again.
func TestHealthCheckRemovesAndReturns(t *testing.T) {
	flaky := newFakeWorker(t, http.StatusOK)
	failing := &flaky.down
	ts, r := newTestRouterWith(t, nil, flaky, newFakeWorker(t, http.StatusOK))
	url, m := ts.URL, r.d.Metrics
	untilServed := func(phase string) {
		t.Helper()
		before := flaky.chatCount()
		for i := 0; flaky.chatCount() == before; i++ {
			if i == 40 { // 40 devices, each with its home: 2^-40 to miss a healthy worker
				t.Fatalf("%s: 40 requests from new devices, none reached the flaky worker", phase)
			}
			if status := postNew(t, url); status != http.StatusOK {
				t.Fatalf("%s: status %d", phase, status)
			}
		}
	}
	untilServed("in the pool")
	failing.Store(true)
	waitGauge(t, m, "w1", 0)
	before := flaky.chatCount()
	for range 12 {
		if status := postNew(t, url); status != http.StatusOK {
			t.Fatalf("one worker left: status %d", status)
		}
	}
	if n := flaky.chatCount() - before; n != 0 {
		t.Fatalf("%d requests reached the worker removed from the pool", n)
	}
	failing.Store(false)
	waitGauge(t, m, "w1", 1)
	untilServed("back in the pool")
}

func (f *fakeWorker) chatCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.chats
}

// postNew posts a request sealed by a new device (so with a home of its
// own) and returns the status.
func postNew(t *testing.T, url string) int {
	t.Helper()
	body, h := sealed(t)
	resp, _ := post(t, url, body, h)
	return resp.StatusCode
}

// waitGauge waits until sotto_upstream_healthy{upstream=name} reads want.
func waitGauge(t *testing.T, m *metrics.Metrics, name string, want float64) {
	t.Helper()
	for i := 0; ; i++ {
		fams, _ := m.Registry().Gather()
		for _, f := range fams {
			if f.GetName() != "sotto_upstream_healthy" {
				continue
			}
			for _, s := range f.GetMetric() {
				for _, l := range s.GetLabel() {
					if l.GetName() == "upstream" && l.GetValue() == name && s.GetGauge().GetValue() == want {
						return
					}
				}
			}
		}
		if i == 500 {
			t.Fatalf("sotto_upstream_healthy{upstream=%q} never read %v", name, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
