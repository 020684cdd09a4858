package server

import (
	"sync"
	"sync/atomic"
)

// bodyGate caps the bytes of request bodies that all clients together
// hold before admission: being read, or read and still being checked.
// Without it, many clients trickling large bodies (each under the read
// timeout and the per-IP limit, which is checked only once a body is in)
// could make the process hold unbounded memory for requests that will
// never be served. A request over the cap is refused at once with 503
// #overloaded, before its body is read.
type bodyGate struct {
	limit int64
	inUse atomic.Int64
}

func newBodyGate(limit int64) *bodyGate { return &bodyGate{limit: limit} }

// acquire reserves n bytes; ok is false when the cap would be exceeded.
// release returns them and may be called more than once.
func (g *bodyGate) acquire(n int64) (release func(), ok bool) { return g.acquireWithin(n, g.limit) }

// acquireWithin is acquire against limit instead of the gate's own (the
// admission gate, whose limit is the engine's slots and queue).
func (g *bodyGate) acquireWithin(n, limit int64) (release func(), ok bool) {
	for {
		cur := g.inUse.Load()
		if cur+n > limit {
			return nil, false
		}
		if g.inUse.CompareAndSwap(cur, cur+n) {
			break
		}
	}
	var once sync.Once
	return func() { once.Do(func() { g.inUse.Add(-n) }) }, true
}

// InFlight returns the bytes reserved.
func (g *bodyGate) InFlight() int64 { return g.inUse.Load() }
