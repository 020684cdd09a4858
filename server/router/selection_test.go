package router

import (
	"fmt"
	"testing"
	"time"

	"github.com/sony/gobreaker/v2"
)

func testPool(n int) *pool {
	p := &pool{}
	for i := range n {
		u := newUpstream(string(rune('a'+i)), "https://10.0.0."+string(rune('1'+i))+":8443", 2, time.Hour, func(*Upstream, gobreaker.State) {})
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
		seen[p.pick(nil, "").Name]++
	}
	if seen["a"] != 10 || seen["b"] != 10 || seen["c"] != 10 {
		t.Fatalf("ties not taken in turn: %v", seen)
	}
	p.ups[0].inFlight.Store(1)
	p.ups[2].inFlight.Store(1)
	for range 5 {
		if u := p.pick(nil, ""); u.Name != "b" {
			t.Fatalf("picked %s, want the least loaded b", u.Name)
		}
	}
	p.ups[1].healthy.Store(false)
	if u := p.pick(map[*Upstream]bool{p.ups[0]: true}, ""); u.Name != "c" {
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
	if u := p.pick(nil, ""); u != nil {
		t.Fatalf("picked %s; every upstream is unhealthy, open or full", u.Name)
	}
	if p.anyAvailable() {
		t.Fatal("anyAvailable with none available")
	}
}

// TestPickDeviceHome: a device's requests stay on one upstream whatever
// the load elsewhere; devices spread over the upstreams; when home is
// unavailable or already tried, the least loaded other one is picked; a
// removed upstream moves only its own devices.
func TestPickDeviceHome(t *testing.T) {
	p := testPool(3)
	homes := map[string]string{}
	count := map[string]int{}
	for i := range 300 {
		dev := fmt.Sprintf("device-%d", i)
		u := p.pick(nil, dev)
		for range 3 {
			if again := p.pick(nil, dev); again != u {
				t.Fatalf("%s picked %s, then %s", dev, u.Name, again.Name)
			}
		}
		homes[dev] = u.Name
		count[u.Name]++
	}
	for _, u := range p.ups {
		if count[u.Name] < 60 {
			t.Errorf("upstream %s is home to %d of 300 devices: %v", u.Name, count[u.Name], count)
		}
	}
	home := p.home("device-0")
	home.inFlight.Store(3) // busier than the others, but not full
	if u := p.pick(nil, "device-0"); u != home {
		t.Fatalf("device-0 left its busier home %s for %s", home.Name, u.Name)
	}
	if u := p.pick(map[*Upstream]bool{home: true}, "device-0"); u == home || u == nil {
		t.Fatalf("retry after home: picked %v", u)
	}
	home.healthy.Store(false)
	for _, u := range p.ups {
		if u != home {
			u.inFlight.Store(0)
		}
	}
	other := p.ups[0]
	if other == home {
		other = p.ups[1]
	}
	other.inFlight.Store(1)
	if u := p.pick(nil, "device-0"); u == home || u == other {
		t.Fatalf("home unhealthy: picked %s, want the least loaded of the rest", u.Name)
	}
	// Removing upstream c moves only the devices whose home was c.
	q := &pool{ups: p.ups[:2]}
	for dev, name := range homes {
		if name != "c" && q.home(dev).Name != name {
			t.Fatalf("%s moved from %s to %s when c left", dev, name, q.home(dev).Name)
		}
	}
}
