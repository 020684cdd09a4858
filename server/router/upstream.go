package router

import (
	"errors"
	"sync/atomic"
	"time"

	"github.com/sony/gobreaker/v2"
)

// Capacity is a worker's load as its GET /api/capacity reports it.
type Capacity struct {
	Ready      bool `json:"ready"`
	Slots      int  `json:"slots"`
	Busy       int  `json:"busy"`
	Queued     int  `json:"queued"`
	QueueDepth int  `json:"queue_depth"`
}

// room is how many more requests the worker can take (slots and queue).
func (c Capacity) room() int { return c.Slots + c.QueueDepth - c.Busy - c.Queued }

// Upstream is one worker: its address, health, load and circuit breaker.
type Upstream struct {
	// Name labels the worker in metrics and logs: "w1", "w2", ... in
	// configuration order (never a request's data).
	Name string
	// URL is the worker's base URL, https://host:port.
	URL string

	inFlight atomic.Int64
	healthy  atomic.Bool
	capacity atomic.Pointer[Capacity]
	failures atomic.Int32 // consecutive failed health checks
	breaker  *gobreaker.TwoStepCircuitBreaker[struct{}]
}

// errUpstream marks an attempt the breaker counts as a failure.
var errUpstream = errors.New("router: upstream failed")

// newUpstream builds an upstream whose breaker opens after threshold
// consecutive failures and half-opens after reset; onState reports every
// breaker transition.
func newUpstream(name, url string, threshold int, reset time.Duration, onState func(*Upstream, gobreaker.State)) *Upstream {
	u := &Upstream{Name: name, URL: url}
	u.breaker = gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        name,
		MaxRequests: 1,
		Timeout:     reset,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= uint32(threshold) },
		// A client that left, or a stream cut by the total timeout, says
		// nothing about the worker: neither a failure nor a success.
		IsExcluded: func(err error) bool { return errors.Is(err, errNotAFault) },
		OnStateChange: func(_ string, _, to gobreaker.State) {
			onState(u, to)
		},
	})
	return u
}

// available reports whether the upstream may be picked: healthy, breaker
// not open, and room left by its last capacity report minus what this
// router has in flight beyond it.
func (u *Upstream) available() bool {
	if !u.healthy.Load() || u.breaker.State() == gobreaker.StateOpen {
		return false
	}
	c := u.capacity.Load()
	if c == nil || !c.Ready {
		return false
	}
	return c.room() > 0 && int(u.inFlight.Load()) < c.Slots+c.QueueDepth
}

// InFlight returns the requests this router has running on the upstream.
func (u *Upstream) InFlight() int64 { return u.inFlight.Load() }

// Healthy reports the last verdict of the active health checks.
func (u *Upstream) Healthy() bool { return u.healthy.Load() }
