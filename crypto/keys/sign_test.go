package keys

import (
	"crypto/ed25519"
	"errors"
	"testing"
	"time"

	"github.com/sottolabs/sotto/crypto"
)

// TestSignOther: signatures for other uses verify under the published
// signing key, and nothing that starts like a key configuration is signed.
func TestSignOther(t *testing.T) {
	s := openAt(t, initDir(t, crypto.SuiteX25519), newClock(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)))
	msg := []byte("sotto/v1 enrol challenge\x00abc")
	sig, err := s.SignOther(msg)
	if err != nil || !ed25519.Verify(s.SigningPublicKey(), msg, sig) {
		t.Fatalf("signature does not verify (err %v)", err)
	}
	if _, err := s.SignOther([]byte("sotto/v1 key config\x00x")); !errors.Is(err, ErrKeyConfigMessage) {
		t.Fatalf("key-config message: %v", err)
	}
	s.Close()
	if _, err := s.SignOther(msg); !errors.Is(err, ErrClosed) {
		t.Fatalf("closed store: %v", err)
	}
}
