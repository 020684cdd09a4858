//go:build cgo

// These tests drive the real llama.cpp engine (cgo).

package server_test

import (
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sottolabs/sotto/crypto"
	"github.com/sottolabs/sotto/crypto/keys"
)

// TestKeyRotationUnderLoad: while clients keep chatting, keys move next ->
// current -> retired (keys.Rotate plus Store.Reload, as on SIGHUP), and the
// fake clock jumps past each retired key's overlap. A client that follows
// 422 #key (refresh from key_config, retry once) never sees a failure.
//
// Rotations run concurrently with requests. Clock jumps of days do not:
// a request sealed before a jump would be refused as #date, which is a
// different protocol path (real clocks do not jump by days), so a jump
// waits for in-flight requests and holds new ones back for its duration.
func TestKeyRotationUnderLoad(t *testing.T) {
	clk := newClock(time.Now())
	const workers = 4
	h := newHarness(t, config{clock: clk, devices: workers})
	const maxTokens = 6
	for i := range workers {
		h.expected(prompt(i), maxTokens)
	}

	var (
		jump      sync.RWMutex
		stop      atomic.Bool
		served    atomic.Int64
		refreshed atomic.Int64
		failed    atomic.Int64
		idsMu     sync.Mutex
		idsUsed   = map[uint8]bool{}
	)
	// chatFollowing is one chat by a client that follows 422 once.
	chatFollowing := func(t *testing.T, c *client, i int) {
		jump.RLock()
		defer jump.RUnlock()
		for attempt := 0; ; attempt++ {
			k := c.currentKey()
			r := c.send(c.sealTo(chatJSON(prompt(i), maxTokens), k.KeyID, c.suite, k.PublicKey, h.now()))
			if r.status == http.StatusUnprocessableEntity && attempt == 0 {
				refreshed.Add(1)
				if err := c.follow422(r); err != nil {
					t.Errorf("worker %d: refreshing the key config: %v", i, err)
					failed.Add(1)
					return
				}
				continue
			}
			want := h.expected(prompt(i), maxTokens)
			if r.status != http.StatusOK || r.streamErr != nil || r.text != want.text {
				t.Errorf("worker %d (key %d): %d %s %v", i, k.KeyID, r.status, r.body, r.streamErr)
				failed.Add(1)
				return
			}
			served.Add(1)
			idsMu.Lock()
			idsUsed[k.KeyID] = true
			idsMu.Unlock()
			return
		}
	}
	var wg sync.WaitGroup
	for i := range workers {
		suite := crypto.SuiteX25519
		if i == 0 {
			suite = crypto.SuiteXWing
		}
		c := h.client(h.devices[i], suite)
		wg.Go(func() {
			for !stop.Load() {
				chatFollowing(t, c, i)
			}
		})
	}
	// waitServed lets traffic flow: at least n more requests served.
	waitServed := func(n int64) {
		target := served.Load() + n
		waitFor(t, "traffic", 60*time.Second, func() bool { return served.Load() >= target || failed.Load() > 0 })
	}

	const rounds = 3
	for range rounds {
		waitServed(8)
		jump.Lock()
		clk.Advance(time.Hour)
		jump.Unlock()
		if err := keys.Rotate(h.keyDir, clk.Now(), h.budget); err != nil {
			t.Fatal(err)
		}
		if err := h.store.Reload(); err != nil {
			t.Fatal(err)
		}
		waitServed(8)
		// Past the overlap: the key clients still hold is retired.
		jump.Lock()
		clk.Advance(keys.DefaultSchedule.Overlap + 24*time.Hour)
		jump.Unlock()
		waitServed(8)
	}
	stop.Store(true)
	wg.Wait()

	t.Logf("%d served, %d refreshed after 422, key ids used %v", served.Load(), refreshed.Load(), idsUsed)
	if failed.Load() != 0 {
		t.Fatalf("%d requests failed", failed.Load())
	}
	// Every worker had to follow a 422 after every jump.
	if refreshed.Load() < workers*rounds {
		t.Errorf("only %d refreshes after 422 in %d rounds of %d workers", refreshed.Load(), rounds, workers)
	}
	// Two suites, each through the initial key and one per rotation.
	if len(idsUsed) != 2*(rounds+1) {
		t.Errorf("key ids used %v, want %d distinct", idsUsed, 2*(rounds+1))
	}
}
