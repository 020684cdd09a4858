package router

import "sync/atomic"

// pool is the set of upstreams and the selection policy: least requests
// in flight among the available ones, round-robin among ties (the scan
// starts one further at every pick, so equal upstreams take turns).
type pool struct {
	ups  []*Upstream
	next atomic.Uint64
}

// pick returns the upstream to try, skipping those in tried; nil when
// none is available.
func (p *pool) pick(tried map[*Upstream]bool) *Upstream {
	n := len(p.ups)
	start := int(p.next.Add(1) % uint64(n))
	var best *Upstream
	for i := range n {
		u := p.ups[(start+i)%n]
		if tried[u] || !u.available() {
			continue
		}
		if best == nil || u.inFlight.Load() < best.inFlight.Load() {
			best = u
		}
	}
	return best
}

// anyAvailable reports whether some upstream could take a request now.
func (p *pool) anyAvailable() bool {
	for _, u := range p.ups {
		if u.available() {
			return true
		}
	}
	return false
}

// load is the share of the pool's reported capacity in use, for
// proof-of-work auto mode: 1 when nothing is available.
func (p *pool) load() float64 {
	var used, total int
	for _, u := range p.ups {
		if c := u.capacity.Load(); c != nil && u.healthy.Load() {
			used += c.Busy + c.Queued
			total += c.Slots + c.QueueDepth
		}
	}
	if total == 0 {
		return 1
	}
	return float64(used) / float64(total)
}
