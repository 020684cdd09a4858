package router

import (
	"crypto/sha256"
	"encoding/binary"
	"sync/atomic"
)

// pool is the set of upstreams and the selection policy: a device's
// requests go to its home upstream (rendezvous hashing on the device id),
// where its conversation's cached prefix is (docs/protocol.md 3.2.1);
// when home is unavailable, to the least requests in flight among the
// available ones, round-robin among ties (the scan starts one further at
// every pick, so equal upstreams take turns).
type pool struct {
	ups  []*Upstream
	next atomic.Uint64
}

// pick returns the upstream to try for device (its rate-limit id; "" for
// none), skipping those in tried; nil when none is available. Leaving
// home costs a cache miss, never an error.
func (p *pool) pick(tried map[*Upstream]bool, device string) *Upstream {
	if u := p.home(device); u != nil && !tried[u] && u.available() {
		return u
	}
	return p.leastInFlight(tried)
}

// home is device's upstream: the highest SHA-256(device || 0 || URL).
// Routers with the same workers (in any order) and shared limiter keys
// agree, and adding or removing a worker moves only the devices whose
// home it is.
func (p *pool) home(device string) *Upstream {
	if device == "" {
		return nil
	}
	var best *Upstream
	var bestScore uint64
	for _, u := range p.ups {
		h := sha256.Sum256([]byte(device + "\x00" + u.URL))
		if score := binary.BigEndian.Uint64(h[:8]); best == nil || score > bestScore {
			best, bestScore = u, score
		}
	}
	return best
}

// leastInFlight returns the available upstream not in tried with the
// fewest requests in flight; nil when none is available.
func (p *pool) leastInFlight(tried map[*Upstream]bool) *Upstream {
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
