package ratelimit

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"

	"github.com/sottolabs/sotto/internal/locked"
)

// SealedKeyer makes limiter keys (the bytes of an IP prefix or a device
// key become an opaque string) under a key that lives in an enclave
// (encrypted in memory) and is opened into locked memory only while one
// key is computed: a per-process random key, or, for routers that share
// limiters in Redis, a key derived from their shared secret. Safe for
// concurrent use.
type SealedKeyer struct {
	secret *locked.Enclave
	budget *locked.Budget
}

// NewSealedKeyer draws the process key; each Key opens it through budget.
func NewSealedKeyer(budget *locked.Budget) (*SealedKeyer, error) {
	e, err := budget.NewRandomEnclave(32)
	if err != nil {
		return nil, fmt.Errorf("ratelimit: %w", err)
	}
	return &SealedKeyer{secret: e, budget: budget}, nil
}

// NewSharedKeyer seals secret (at least 32 bytes, the same in every
// process whose limiters must agree) as the key; secret is wiped.
func NewSharedKeyer(secret []byte, budget *locked.Budget) *SealedKeyer {
	return &SealedKeyer{secret: locked.SealBytes(secret), budget: budget}
}

// Key returns the limiter key for id in namespace kind: kind, a colon and 22 base64url characters of HMAC-SHA256(process key,
// kind 0x00 id). kind must be a fixed string chosen by the program, never
// client input. It fails (wrapping locked.ErrExhausted) when the budget
// cannot open the process key.
func (k *SealedKeyer) Key(kind string, id []byte) (string, error) {
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
