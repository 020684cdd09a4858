// Package ratelimit limits request rates and concurrent streams per key.
//
// Keys are opaque strings made by KeyFor from a client IP prefix or a
// verified device key: a keyed hash, so neither raw addresses nor device
// keys sit in limiter memory, metrics or logs. The in-memory Memory
// limiter is a token bucket per key (golang.org/x/time/rate); a Limiter
// backed by a shared store (Redis) can implement the same interface for
// several nodes.
//
// Every type here is safe for concurrent use.
package ratelimit

import (
	"context"
	"time"
)

// Decision is the outcome of one Allow call.
type Decision struct {
	// Allowed reports whether the request may proceed.
	Allowed bool
	// RetryAfter is, for a refused request, the wait after which the same
	// request would be allowed (0 when Allowed).
	RetryAfter time.Duration
	// Remaining is the number of further requests allowed right now.
	Remaining int
}

// Limiter decides whether one more request for key is allowed at now. An
// error means the limiter could not decide (a store was unreachable);
// callers treat it as refused, so a broken limiter fails closed.
type Limiter interface {
	Allow(ctx context.Context, key string, now time.Time) (Decision, error)
}

// Off allows every request: the per-IP limiter of a worker, whose only
// client is its router (which limits per IP itself).
type Off struct{}

// Allow always allows.
func (Off) Allow(context.Context, string, time.Time) (Decision, error) {
	return Decision{Allowed: true}, nil
}
