package server

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/sottolabs/sotto/internal/locked"
)

// TestHashedIDIsKeyed: the logged rid is an HMAC under the per-process
// key, not a hash anyone can recompute from a captured request.
func TestHashedIDIsKeyed(t *testing.T) {
	budget := locked.NewBudget(locked.Unlimited)
	l, err := newLogIDs(budget)
	if err != nil {
		t.Fatal(err)
	}
	rid := []byte("0123456789abcdef")
	got := l.hashed(rid)
	unkeyed := sha256.Sum256(rid)
	if got == hex.EncodeToString(unkeyed[:6]) || len(got) != 12 {
		t.Fatalf("hashed = %q: the unkeyed SHA-256 of the rid, or not 12 hex digits", got)
	}
	var want string
	if err := budget.Use(l.secret, func(key []byte) {
		m := hmac.New(sha256.New, key)
		m.Write(rid)
		want = hex.EncodeToString(m.Sum(nil)[:6])
	}); err != nil {
		t.Fatal(err)
	}
	if got != want || l.hashed(rid) != got {
		t.Fatalf("hashed = %s, want the HMAC %s, stable within the process", got, want)
	}
	other, _ := newLogIDs(budget)
	if other.hashed(rid) == got {
		t.Fatal("two processes' keys agree")
	}
	if budget.InUse() != 0 {
		t.Fatalf("opened key not destroyed: %d bytes in use", budget.InUse())
	}
}

// TestPrefixOwner: one device is one owner of the engine's prefix-cache
// shares, another device (or the same key under another algorithm) is
// another, and another process names them differently.
func TestPrefixOwner(t *testing.T) {
	budget := locked.NewBudget(locked.Unlimited)
	l, _ := newLogIDs(budget)
	a1, err := l.prefixOwner("ed25519", []byte{1, 2, 3})
	a2, _ := l.prefixOwner("ed25519", []byte{1, 2, 3})
	b, _ := l.prefixOwner("ed25519", []byte{1, 2, 4})
	c, _ := l.prefixOwner("p256", []byte{1, 2, 3})
	if err != nil || a1 != a2 || a1 == b || a1 == c {
		t.Fatalf("owners %x %x %x %x (%v): want one per device", a1, a2, b, c, err)
	}
	other, _ := newLogIDs(budget)
	if o, _ := other.prefixOwner("ed25519", []byte{1, 2, 3}); o == a1 {
		t.Fatal("another process derived the same owner")
	}
}
