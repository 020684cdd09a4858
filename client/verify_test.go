package client

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/sottolabs/sotto/client/clienttest"
	"github.com/sottolabs/sotto/crypto/keyconfig"
)

// TestVerify: Verify fetches and keeps the pinned server's key
// configuration (a later Chat fetches nothing more), and refuses a server
// whose configuration another key signed.
func TestVerify(t *testing.T) {
	s := clienttest.New(t)
	c, _ := newClient(t, s, nil)
	if err := c.Verify(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := chat(t, c, userRequest()); err != nil {
		t.Fatal(err)
	}
	if n := s.Counts().Pubkey; n != 1 {
		t.Fatalf("%d key configuration fetches, want 1 (by Verify)", n)
	}
	other, _, _ := ed25519.GenerateKey(rand.Reader)
	c, _ = newClient(t, s, func(cfg *Config) { cfg.SigningKey = other })
	if err := c.Verify(context.Background()); !errors.Is(err, ErrKeyConfig) || !errors.Is(err, keyconfig.ErrUnpinned) {
		t.Fatalf("another pin: %v", err)
	}
}
