// Package ratelimit limits request rates and concurrent streams per key.
//
// Keys are opaque strings made by a Keyer from a client IP prefix or a
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
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/sottolabs/sotto/internal/locked"
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

// Keyer makes limiter keys: HMAC-SHA256 under a per-process random key
// that lives in an enclave (encrypted in memory) and is opened into
// locked memory only while one key is computed. It changes at every
// start, so a key string seen once (in a heap snapshot, say) cannot be
// tested against guessed addresses later. Safe for concurrent use.
type Keyer struct {
	secret *locked.Enclave
	budget *locked.Budget
}

// NewKeyer draws the process key; each Key opens it through budget.
func NewKeyer(budget *locked.Budget) (*Keyer, error) {
	e, err := budget.NewRandomEnclave(32)
	if err != nil {
		return nil, fmt.Errorf("ratelimit: %w", err)
	}
	return &Keyer{secret: e, budget: budget}, nil
}

// Key returns the limiter key for id (the bytes of an IP prefix, a device
// public key) in a namespace kind ("ip", "device"): kind, a colon and 22
// base64url characters of HMAC-SHA256(process key, kind 0x00 id). kind
// must be a fixed string chosen by the program, never client input. It
// fails (wrapping locked.ErrExhausted) when the budget cannot open the
// process key.
func (k *Keyer) Key(kind string, id []byte) (string, error) {
	var sum []byte
	err := k.budget.Use(k.secret, func(secret []byte) {
		m := hmac.New(sha256.New, secret)
		m.Write([]byte(kind))
		m.Write([]byte{0})
		m.Write(id)
		sum = m.Sum(nil)
	})
	if err != nil {
		return "", fmt.Errorf("ratelimit: %w", err)
	}
	return kind + ":" + base64.RawURLEncoding.EncodeToString(sum[:16]), nil
}
