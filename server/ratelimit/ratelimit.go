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
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"sync"
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

// hashKey is the per-process HMAC key of KeyFor. It lives only in memory
// and changes at every start, so a key string seen once (in a heap
// snapshot, say) cannot be tested against guessed addresses later.
var hashKey = sync.OnceValue(func() []byte {
	k := make([]byte, 32)
	_, _ = rand.Read(k) // crypto/rand.Read never fails; it crashes the process instead
	return k
})

// KeyFor returns the limiter key for id (the bytes of an IP prefix, a
// device public key) in a namespace kind ("ip", "device"): kind, a colon
// and 22 base64url characters of HMAC-SHA256(process key, kind 0x00 id).
// kind must be a fixed string chosen by the program, never client input.
func KeyFor(kind string, id []byte) string {
	m := hmac.New(sha256.New, hashKey())
	m.Write([]byte(kind))
	m.Write([]byte{0})
	m.Write(id)
	return kind + ":" + base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}
