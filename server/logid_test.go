package server

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

// TestHashedIDIsKeyed: the logged rid is an HMAC under the per-process
// key, not a hash anyone can recompute from a captured request.
func TestHashedIDIsKeyed(t *testing.T) {
	rid := []byte("0123456789abcdef")
	got := hashedID(rid)
	unkeyed := sha256.Sum256(rid)
	if got == hex.EncodeToString(unkeyed[:6]) {
		t.Fatal("hashedID is the unkeyed SHA-256 of the rid")
	}
	m := hmac.New(sha256.New, logIDKey())
	m.Write(rid)
	if want := hex.EncodeToString(m.Sum(nil)[:6]); got != want || hashedID(rid) != got {
		t.Fatalf("hashedID = %s, want the HMAC %s, stable within the process", got, want)
	}
	if len(logIDKey()) != 32 || hmac.Equal(logIDKey(), make([]byte, 32)) {
		t.Fatal("log id key is not 32 random bytes")
	}
}
