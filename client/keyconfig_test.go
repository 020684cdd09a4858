package client

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/sottolabs/sotto/client/clienttest"
	"github.com/sottolabs/sotto/crypto/keyconfig"
)

func TestRollbackRefused(t *testing.T) {
	s := clienttest.New(t)
	old := s.Document()
	s.Rotate()
	c, _ := newClient(t, s, nil)
	if _, _, err := chat(t, c, userRequest()); err != nil { // holds the newer document
		t.Fatal(err)
	}
	s.ServeFixedDocument(old) // 422 with the old document, and GET serves it too
	_, _, err := chat(t, c, userRequest())
	if !errors.Is(err, ErrKeyConfig) || !errors.Is(err, keyconfig.ErrRollback) {
		t.Fatalf("err = %v, want ErrKeyConfig wrapping ErrRollback", err)
	}
	if got := s.Counts(); got.Pubkey != 2 || got.Chat != 2 {
		t.Errorf("counts = %+v, want 2 pubkey fetches (one after the refused member), 2 chats", got)
	}
}

func TestStatePersistsAcrossRestarts(t *testing.T) {
	s := clienttest.New(t)
	old := s.Document()
	s.Rotate()
	state := filepath.Join(t.TempDir(), "keyconfig.json")
	withState := func(cfg *Config) { cfg.StatePath = state }
	c1, _ := newClient(t, s, withState)
	if _, _, err := chat(t, c1, userRequest()); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(state)
	if err != nil || !bytes.Equal(data, s.Document()) {
		t.Fatalf("state file = %q (%v), want the served document", data, err)
	}
	if fi, err := os.Stat(state); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file mode = %v (%v), want 0600", fi.Mode().Perm(), err)
	}
	// A restarted client holds the newer document from the file, so the old
	// one is refused even though this process never fetched the newer one.
	s.ServeFixedDocument(old)
	c2, _ := newClient(t, s, withState)
	_, _, err = chat(t, c2, userRequest())
	if !errors.Is(err, keyconfig.ErrRollback) {
		t.Fatalf("err = %v, want ErrRollback", err)
	}
}

func TestStateOfAnotherSigningKeyRefused(t *testing.T) {
	s := clienttest.New(t)
	state := filepath.Join(t.TempDir(), "keyconfig.json")
	if err := os.WriteFile(state, s.Document(), 0o600); err != nil {
		t.Fatal(err)
	}
	other, _, _ := ed25519.GenerateKey(rand.Reader)
	_, dev, _ := ed25519.GenerateKey(rand.Reader)
	_, err := New(Config{BaseURL: s.URL, SigningKey: other, DeviceKey: dev, StatePath: state})
	if !errors.Is(err, ErrState) || !errors.Is(err, keyconfig.ErrUnpinned) {
		t.Fatalf("err = %v, want ErrState wrapping ErrUnpinned", err)
	}
}

func TestUnpinnedServerRefused(t *testing.T) {
	s := clienttest.New(t)
	other, _, _ := ed25519.GenerateKey(rand.Reader)
	c, _ := newClient(t, s, func(cfg *Config) { cfg.SigningKey = other })
	_, _, err := chat(t, c, userRequest())
	if !errors.Is(err, ErrKeyConfig) || !errors.Is(err, keyconfig.ErrUnpinned) {
		t.Fatalf("err = %v, want ErrKeyConfig wrapping ErrUnpinned", err)
	}
	if got := s.Counts().Chat; got != 0 {
		t.Errorf("chats = %d: a request was sealed to an unverified key", got)
	}
}
