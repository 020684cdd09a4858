package router

import (
	"testing"
	"time"

	"github.com/sony/gobreaker/v2"
)

func testPool(n int) *pool {
	p := &pool{}
	for i := range n {
		u := newUpstream(string(rune('a'+i)), "https://x", 2, time.Hour, func(*Upstream, gobreaker.State) {})
		u.healthy.Store(true)
		u.capacity.Store(&Capacity{Ready: true, Slots: 2, QueueDepth: 2})
		p.ups = append(p.ups, u)
	}
	return p
}

// TestPickLeastInFlightRoundRobin: the least loaded upstream wins; equal
// ones take turns; unhealthy, open-breaker, full or excluded ones are
// skipped; nothing available is nil.
func TestPickLeastInFlightRoundRobin(t *testing.T) {
	p := testPool(3)
	seen := map[string]int{}
	for range 30 {
		seen[p.pick(nil).Name]++
	}
	if seen["a"] != 10 || seen["b"] != 10 || seen["c"] != 10 {
		t.Fatalf("ties not taken in turn: %v", seen)
	}
	p.ups[0].inFlight.Store(1)
	p.ups[2].inFlight.Store(1)
	for range 5 {
		if u := p.pick(nil); u.Name != "b" {
			t.Fatalf("picked %s, want the least loaded b", u.Name)
		}
	}
	p.ups[1].healthy.Store(false)
	if u := p.pick(map[*Upstream]bool{p.ups[0]: true}); u.Name != "c" {
		t.Fatalf("picked %s, want c (b unhealthy, a excluded)", u.Name)
	}
	for range 2 { // two failures open a's breaker (threshold 2)
		done, err := p.ups[0].breaker.Allow()
		if err != nil {
			t.Fatal(err)
		}
		done(errUpstream)
	}
	p.ups[2].inFlight.Store(4) // slots + queue: full
	if u := p.pick(nil); u != nil {
		t.Fatalf("picked %s; every upstream is unhealthy, open or full", u.Name)
	}
	if p.anyAvailable() {
		t.Fatal("anyAvailable with none available")
	}
}
