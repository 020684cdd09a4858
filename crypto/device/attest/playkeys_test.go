package attest_test

import (
	"crypto/x509"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/sottolabs/sotto/crypto/device/attest"
	"github.com/sottolabs/sotto/crypto/device/attest/attesttest"
	"github.com/sottolabs/sotto/internal/locked"
)

// TestLoadPlayKeys: the Play Console's two keys load into a verifier that
// accepts a token made with them; malformed files are refused.
func TestLoadPlayKeys(t *testing.T) {
	p := attesttest.NewPlay()
	der, err := x509.MarshalPKIXPublicKey(p.VerificationKey)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "play-keys")
	good := "decryption_key: " + base64.StdEncoding.EncodeToString(p.DecryptionKey) +
		"\nverification_key: " + base64.StdEncoding.EncodeToString(der) + "\n"
	budget := locked.NewBudget(locked.Unlimited)
	for _, bad := range []string{"x\n", "decryption_key: AAAA\n", good[:40]} {
		if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, _, err := attest.LoadPlayKeys(path, budget); !errors.Is(err, attest.ErrPlayKeys) {
			t.Errorf("file of %d bytes: %v", len(bad), err)
		}
	}
	if err := os.WriteFile(path, []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	dec, pub, err := attest.LoadPlayKeys(path, budget)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Destroy()
	v := playVerifier(p)
	v.DecryptionKey, v.VerificationKey = dec.Bytes()[:32], pub
	cdh := attest.ClientDataHash(make32(1), testKey(t, 1))
	if _, err := v.Verify(p.Token(attesttest.NewVerdict(pkg, cdh, digest, t0)), cdh); err != nil {
		t.Fatalf("token under the loaded keys: %v", err)
	}
}
