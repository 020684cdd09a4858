package device

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"fmt"
	"io"

	circled25519 "github.com/cloudflare/circl/sign/ed25519"

	"github.com/sottolabs/sotto/internal/locked"
)

// GenerateEd25519 draws a new device key from rand and returns the 64-byte
// Ed25519 private key (seed || public key) in a locked buffer charged to
// budget. The caller destroys it.
func GenerateEd25519(rand io.Reader, budget *locked.Budget) (*locked.Buffer, error) {
	seed, err := budget.Alloc(ed25519.SeedSize)
	if err != nil {
		return nil, fmt.Errorf("device: %w", err)
	}
	defer seed.Destroy()
	if _, err := io.ReadFull(rand, seed.Bytes()); err != nil {
		return nil, fmt.Errorf("device: %w", err)
	}
	return expand(seed.Bytes(), budget)
}

// expand returns the Ed25519 private key of seed in locked memory.
func expand(seed []byte, budget *locked.Budget) (*locked.Buffer, error) {
	priv, err := budget.Alloc(ed25519.PrivateKeySize)
	if err != nil {
		return nil, fmt.Errorf("device: %w", err)
	}
	heap := ed25519.NewKeyFromSeed(seed)
	copy(priv.Bytes(), heap)
	locked.Wipe(heap)
	return priv, nil
}

// PublicKey returns the device Key of an Ed25519 private key.
func PublicKey(priv ed25519.PrivateKey) (Key, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return Key{}, ErrKeyFormat
	}
	return Key{alg: Ed25519, raw: string(priv[ed25519.SeedSize:])}, nil
}

// P256PublicKey returns the device Key of a P-256 public key.
func P256PublicKey(pub *ecdsa.PublicKey) (Key, error) {
	if pub == nil || pub.Curve != elliptic.P256() {
		return Key{}, ErrKeyFormat
	}
	unc, err := pub.Bytes()
	if err != nil {
		return Key{}, ErrKeyFormat
	}
	raw := make([]byte, 33)
	raw[0] = 2 | unc[64]&1
	copy(raw[1:], unc[1:33])
	return Key{alg: P256, raw: string(raw)}, nil
}

// Sign returns the Sotto-Signature header value of body under the Ed25519
// private key priv, which may live in locked memory. (The standard
// library's ed25519.Sign cannot sign with memory outside the Go heap; see
// keyconfig.Sign.)
func Sign(priv ed25519.PrivateKey, body []byte) (string, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return "", ErrKeyFormat
	}
	m := Message(sha256.Sum256(body))
	return b64u.EncodeToString(circled25519.Sign(circled25519.PrivateKey(priv), m)), nil
}

// SignP256 returns the Sotto-Signature header value of body under a P-256
// key, as 64-byte r||s (the WebCrypto form).
func SignP256(rand io.Reader, priv *ecdsa.PrivateKey, body []byte) (string, error) {
	m := Message(sha256.Sum256(body))
	digest := sha256.Sum256(m)
	r, s, err := ecdsa.Sign(rand, priv, digest[:])
	if err != nil {
		return "", fmt.Errorf("device: %w", err)
	}
	raw := make([]byte, 64)
	r.FillBytes(raw[:32])
	s.FillBytes(raw[32:])
	return b64u.EncodeToString(raw), nil
}
