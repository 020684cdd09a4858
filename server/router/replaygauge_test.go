package router

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestReplayRegisterGauges: a router with the in-memory replay register
// exports its fill, and each relayed request adds one entry.
func TestReplayRegisterGauges(t *testing.T) {
	w := newFakeWorker(t, 200)
	ts, m := newTestRouterWithMetrics(t, w)
	want := func(entries float64) {
		t.Helper()
		got, err := testutil.GatherAndCount(m.Registry(), "sotto_replay_register_entries", "sotto_replay_register_capacity")
		if err != nil || got != 2 {
			t.Fatalf("replay gauges: %d series (%v)", got, err)
		}
		fams, _ := m.Registry().Gather()
		for _, f := range fams {
			v := f.GetMetric()[0].GetGauge().GetValue()
			if (f.GetName() == "sotto_replay_register_entries" && v != entries) || (f.GetName() == "sotto_replay_register_capacity" && v != 100) {
				t.Fatalf("%s = %v, want entries %v of 100", f.GetName(), v, entries)
			}
		}
	}
	want(0)
	body, h := sealed(t)
	if resp, _ := post(t, ts.URL, body, h); resp.StatusCode != 200 {
		t.Fatalf("relay: %d", resp.StatusCode)
	}
	want(1)
}
