package device

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sottolabs/sotto/internal/locked"
	"github.com/sottolabs/sotto/internal/testenv"
)

type vector struct {
	Alg            string `json:"alg"`
	Encoding       string `json:"encoding"`
	PrivateKey     string `json:"private_key"`
	PublicKey      string `json:"public_key"`
	SottoDevice    string `json:"sotto_device"`
	Body           string `json:"body"`
	BodySHA256     string `json:"body_sha256"`
	Message        string `json:"message"`
	Signature      string `json:"signature"`
	SottoSignature string `json:"sotto_signature"`
}

func loadVectors(t *testing.T) []vector {
	t.Helper()
	data, err := os.ReadFile(testenv.ReferenceVectors(t))
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		DeviceSignatures []vector `json:"device_signatures"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.DeviceSignatures) == 0 {
		t.Fatal("vectors: no device_signatures")
	}
	return v.DeviceSignatures
}

func flip(s string, i int) string {
	b, _ := b64u.DecodeString(s)
	b[(i+len(b))%len(b)] ^= 1
	return b64u.EncodeToString(b)
}

func TestVectors(t *testing.T) {
	vs := loadVectors(t)
	for _, v := range vs {
		t.Run(v.Alg+"-"+v.Encoding, func(t *testing.T) {
			k, err := ParseKey(v.SottoDevice)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(k.Bytes(), testenv.Unhex(t, v.PublicKey)) || k.String() != v.SottoDevice {
				t.Fatalf("key %x / %s", k.Bytes(), k)
			}
			body := testenv.Unhex(t, v.Body)
			var digest [32]byte
			copy(digest[:], testenv.Unhex(t, v.BodySHA256))
			if !bytes.Equal(Message(digest), testenv.Unhex(t, v.Message)) {
				t.Fatalf("message %x", Message(digest))
			}
			if sig, _ := b64u.DecodeString(v.SottoSignature); !bytes.Equal(sig, testenv.Unhex(t, v.Signature)) {
				t.Fatal("sotto_signature does not encode signature")
			}
			if err := k.Verify(body, v.SottoSignature); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if v.Alg == "ed25519" {
				got, err := Sign(ed25519.NewKeyFromSeed(testenv.Unhex(t, v.PrivateKey)), body)
				if err != nil || got != v.SottoSignature {
					t.Fatalf("Sign = %q, %v; want %q", got, err, v.SottoSignature)
				}
			}
			for name, sig := range map[string]string{
				"flipped first bit": flip(v.SottoSignature, 0),
				"flipped last bit":  flip(v.SottoSignature, -1),
				"truncated":         v.SottoSignature[:len(v.SottoSignature)-4],
				"empty":             "",
				"not base64url":     v.SottoSignature[:len(v.SottoSignature)-1] + "=",
			} {
				if err := k.Verify(body, sig); !errors.Is(err, ErrSignature) {
					t.Errorf("%s: Verify = %v, want ErrSignature", name, err)
				}
			}
			other := append(bytes.Clone(body), 0)
			if err := k.Verify(other, v.SottoSignature); !errors.Is(err, ErrSignature) {
				t.Errorf("other body: Verify = %v, want ErrSignature", err)
			}
			for _, w := range vs {
				wk, _ := ParseKey(w.SottoDevice)
				if wk != k && !errors.Is(wk.Verify(body, v.SottoSignature), ErrSignature) {
					t.Errorf("signature verified under the %s key", w.Alg)
				}
			}
		})
	}
}

func TestParseKeyRefusals(t *testing.T) {
	good := "ed25519:" + b64u.EncodeToString(make([]byte, 32))
	if _, err := ParseKey(good); err != nil {
		t.Fatal(err)
	}
	p, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pk, _ := P256PublicKey(&p.PublicKey)
	unc, _ := p.PublicKey.Bytes()
	bad := []string{
		"", "ed25519", "ed25519:", "ED25519:" + good[8:], " " + good, good + " ", good + "=",
		"ed25519:" + b64u.EncodeToString(make([]byte, 31)),
		"ed25519:" + b64u.EncodeToString(make([]byte, 33)),
		"x25519:" + good[8:],
		"p256:" + b64u.EncodeToString(unc), // uncompressed
		"p256:" + b64u.EncodeToString(append([]byte{2}, bytes.Repeat([]byte{0xff}, 32)...)), // x >= p
		"p256:" + good[8:],
		"ed25519:" + strings.Repeat("A", 42) + "+",
	}
	for _, h := range bad {
		_, err := ParseKey(h)
		if !errors.Is(err, ErrKeyFormat) {
			t.Errorf("ParseKey(%q) = %v, want ErrKeyFormat", h, err)
		}
		if err != nil && len(h) > 8 && strings.Contains(err.Error(), h[8:]) {
			t.Errorf("error echoes the header value")
		}
	}
	if k, err := ParseKey(pk.String()); err != nil || k != pk {
		t.Fatalf("P-256 round trip: %v", err)
	}
}

func TestSignP256RoundTrip(t *testing.T) {
	p, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	k, _ := P256PublicKey(&p.PublicKey)
	body := []byte("body")
	sig, err := SignP256(rand.Reader, p, body)
	if err != nil {
		t.Fatal(err)
	}
	if raw, _ := b64u.DecodeString(sig); len(raw) != 64 {
		t.Fatalf("signature of %d bytes, want 64", len(raw))
	}
	if err := k.Verify(body, sig); err != nil {
		t.Fatalf("Verify: %v", err)
	}
}

func TestID(t *testing.T) {
	a, _ := ParseKey("ed25519:" + b64u.EncodeToString(make([]byte, 32)))
	raw := make([]byte, 32)
	raw[0] = 1
	b, _ := ParseKey("ed25519:" + b64u.EncodeToString(raw))
	a2, _ := ParseKey(a.String())
	if a.ID() != a2.ID() || a.ID() == b.ID() {
		t.Fatal("ID not stable or not distinct")
	}
	id := a.ID()
	plain := sha256.Sum256(a.Bytes())
	if bytes.Contains(a.Bytes(), id[:8]) || bytes.Equal(id[:], plain[:16]) {
		t.Fatal("ID reveals the key or is an unkeyed hash of it")
	}
}

func TestAllowList(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "allow")
	k1, _ := ParseKey("ed25519:" + b64u.EncodeToString(make([]byte, 32)))
	p, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	k2, _ := P256PublicKey(&p.PublicKey)
	if err := Allow(path, k1); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("allow-list mode %v", fi.Mode())
	}
	if err := Allow(path, k1); !errors.Is(err, ErrListed) {
		t.Fatalf("duplicate Allow = %v, want ErrListed", err)
	}
	a, err := LoadAllowList(path)
	if err != nil {
		t.Fatal(err)
	}
	if a.Trusted(ctx, k1) != nil || !errors.Is(a.Trusted(ctx, k2), ErrUntrusted) {
		t.Fatal("allow-list trusts the wrong keys")
	}
	// A hand-edited file: comments, blank lines, no final newline.
	content := "# devices\n\n" + k1.String() + "  # phone\n  " + k2.String()
	os.WriteFile(path, []byte(content), 0o600)
	if err := a.Reload(); err != nil || a.Len() != 2 || a.Trusted(ctx, k2) != nil {
		t.Fatalf("Reload: %v, %d keys", err, a.Len())
	}
	if err := Allow(path, NewTestKey(3)); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != content+"\n"+NewTestKey(3).String()+"\n" {
		t.Fatalf("file after Allow:\n%s", b)
	}
	os.WriteFile(path, []byte(k1.String()+"\nsecret-looking-garbage\n"), 0o600)
	err = a.Reload()
	if !errors.Is(err, ErrKeyFormat) || !strings.Contains(err.Error(), "line 2") || strings.Contains(err.Error(), "garbage") {
		t.Fatalf("Reload of a bad file = %v", err)
	}
	if a.Len() != 2 {
		t.Fatal("failed Reload dropped the previous list")
	}
	if err := Allow(path, k2); !errors.Is(err, ErrKeyFormat) {
		t.Fatalf("Allow into a bad file = %v", err)
	}
}

// NewTestKey returns an Ed25519 key whose bytes are all b.
func NewTestKey(b byte) Key {
	k, _ := ParseKey("ed25519:" + b64u.EncodeToString(bytes.Repeat([]byte{b}, 32)))
	return k
}

func TestPolicies(t *testing.T) {
	ctx := context.Background()
	k := NewTestKey(1)
	if err := NewOpenPolicy().Trusted(ctx, k); err != nil {
		t.Fatal(err)
	}
	none := AnyOf()
	if err := none.Trusted(ctx, k); !errors.Is(err, ErrUntrusted) {
		t.Fatalf("empty AnyOf = %v", err)
	}
	if err := AnyOf(none, NewOpenPolicy()).Trusted(ctx, k); err != nil {
		t.Fatalf("AnyOf with open = %v", err)
	}
}

func TestKeyFile(t *testing.T) {
	budget := locked.NewBudget(1 << 20)
	path := filepath.Join(t.TempDir(), "device.key")
	priv, err := GenerateEd25519(rand.Reader, budget)
	if err != nil {
		t.Fatal(err)
	}
	defer priv.Destroy()
	if err := WriteKeyFile(path, priv.Bytes(), budget); err != nil {
		t.Fatal(err)
	}
	if err := WriteKeyFile(path, priv.Bytes(), budget); !errors.Is(err, os.ErrExist) {
		t.Fatalf("overwrite: %v", err)
	}
	got, err := ReadKeyFile(path, budget)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Destroy()
	if !bytes.Equal(got.Bytes(), priv.Bytes()) {
		t.Fatal("key file round trip changed the key")
	}
	k, _ := PublicKey(got.Bytes())
	sig, _ := Sign(got.Bytes(), []byte("x"))
	if err := k.Verify([]byte("x"), sig); err != nil {
		t.Fatal(err)
	}
	os.Chmod(path, 0o644)
	if _, err := ReadKeyFile(path, budget); !errors.Is(err, ErrKeyFile) {
		t.Fatalf("world-readable key file: %v", err)
	}
	os.WriteFile(path, []byte("sotto device key v1\nalg: ed25519\nseed: zz\n"), 0o600)
	if _, err := ReadKeyFile(path, budget); !errors.Is(err, ErrKeyFile) {
		t.Fatalf("malformed key file: %v", err)
	}
}
