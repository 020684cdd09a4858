//go:build cgo

package server_test

import (
	"testing"

	"github.com/sottolabs/sotto/crypto"
)

// TestReplayRegisterGauges: the server installs its in-memory replay
// register as the source of sotto_replay_register_entries and _capacity,
// and each served request adds one entry.
func TestReplayRegisterGauges(t *testing.T) {
	h := newHarness(t, config{replayCapacity: 3})
	want := func(entries float64) {
		t.Helper()
		got := replayGauges(t, h)
		if got["sotto_replay_register_entries"] != entries || got["sotto_replay_register_capacity"] != 3 {
			t.Fatalf("replay gauges %v, want entries %v and capacity 3", got, entries)
		}
	}
	want(0)
	c := h.client(h.devices[0], crypto.SuiteX25519)
	h.wantReply(t, c.chat(prompt(0), 4), prompt(0), 4)
	want(1)
	h.wantReply(t, c.chat(prompt(1), 4), prompt(1), 4)
	want(2)
}

// replayGauges gathers the two replay-register gauges from h's registry.
func replayGauges(t *testing.T, h *harness) map[string]float64 {
	t.Helper()
	families, err := h.metrics.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		switch f.GetName() {
		case "sotto_replay_register_entries", "sotto_replay_register_capacity":
			out[f.GetName()] = f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	return out
}
