package main

import (
	"context"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sottolabs/sotto/client/load"
)

// soakCacheTTL caps, in seconds, how long the soak's server keeps a
// conversation's cached prefix.
const soakCacheTTL = 5

// soakRSSSlack is the resident growth a soak tolerates: the allocators'
// warm-up after the first minute, not a leak's steady climb.
const soakRSSSlack = 32 << 20

// TestSoak (make soak; opt-in with SOTTO_SOAK=DURATION, e.g. 10m): an
// open loop at 20 conversations a second, a third of them cut at random
// points, two turns with the conversation cache, for DURATION. It
// reports the server's RSS, goroutines, locked bytes and file descriptors
// at the start (after a one-minute warm-up) and at the end, and fails
// when any grew: goroutines, fds and locked bytes must return to their
// start values once the clients are gone, RSS within soakRSSSlack.
func TestSoak(t *testing.T) {
	d, err := time.ParseDuration(os.Getenv("SOTTO_SOAK"))
	if err != nil {
		t.Skip("opt-in: make soak (SOTTO_SOAK=10m)")
	}
	// Conversations' cached prefixes live 5 s (turn 2 follows turn 1 at
	// once, so it still hits): the start and end are measured with the
	// cache empty, or its entries of the moment (up to 16, of varying
	// size) would count as locked growth or hide some.
	s := startServe(t, append(faultLimits, "SOTTO_PREFIX_CACHE_BYTES=8388608", "SOTTO_PREFIX_CACHE_MAX_TTL_SECONDS="+strconv.Itoa(soakCacheTTL))...)
	c, hc := s.loadClient(t, 64)
	cut := &cutter{inner: load.Sotto{Client: c}, rng: rand.New(rand.NewPCG(3, 4))}
	target := &sometimes{cut: cut, whole: load.Sotto{Client: c}, rng: rand.New(rand.NewPCG(5, 6))}
	cfg := load.Config{Target: target, Rate: 20, RequestTimeout: time.Minute, Seed: 7,
		Workload: load.Workload{PromptWords: load.Dist{Min: 4, Max: 60}, MaxTokens: load.Dist{Min: 4, Max: 48}, Turns: 2, Cache: true}}
	soakRun(t, cfg, min(time.Minute, d), "warm-up")
	hc.CloseIdleConnections()
	time.Sleep(soakCacheTTL*time.Second + time.Second) // the warm-up's cached prefixes expire
	start := s.waitGauges(t, nil)
	startRSS := procStatus(t, s.cmd.Process.Pid, "VmRSS")
	soakRun(t, cfg, d, "soak")
	hc.CloseIdleConnections()
	end := s.waitGauges(t, &start)
	endRSS := procStatus(t, s.cmd.Process.Pid, "VmRSS")
	t.Logf("start: RSS %d MiB, goroutines %.0f, locked %.0f bytes, fds %d", startRSS>>20, start.goroutines, start.locked, start.fds)
	t.Logf("end:   RSS %d MiB, goroutines %.0f, locked %.0f bytes, fds %d", endRSS>>20, end.goroutines, end.locked, end.fds)
	if endRSS > startRSS+soakRSSSlack {
		t.Errorf("RSS grew from %d to %d bytes (slack %d)", startRSS, endRSS, soakRSSSlack)
	}
}

// soakRun runs cfg for d and fails on any error but the cut clients' own.
func soakRun(t *testing.T, cfg load.Config, d time.Duration, what string) {
	t.Helper()
	cfg.Duration = d
	rep, err := load.Run(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	sm := rep.Summary
	t.Logf("%s: %d requests, %d ok, refusals %v, errors %v, TTFT p95 %.0f ms", what, sm.Requests, sm.OK, sm.Refusals, sm.Errors, sm.TTFTMs.P95)
	for name := range sm.Errors {
		if name != "timeout" {
			t.Errorf("%s: error %q", what, name)
		}
	}
}

// sometimes sends a third of the requests through cut, the rest whole.
type sometimes struct {
	cut, whole load.Target
	mu         sync.Mutex
	rng        *rand.Rand
}

func (s *sometimes) Send(ctx context.Context, r *load.Request, onDelta func([]byte)) load.Outcome {
	s.mu.Lock()
	cut := s.rng.IntN(3) == 0
	s.mu.Unlock()
	if cut {
		return s.cut.Send(ctx, r, onDelta)
	}
	return s.whole.Send(ctx, r, onDelta)
}
