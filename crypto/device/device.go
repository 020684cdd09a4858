// Package device authenticates the devices that send requests
// (docs/protocol.md section 3): it parses the Sotto-Device header, verifies
// the Sotto-Signature over the request body, decides whether the key is
// trusted (Policy), and derives a stable, non-reversible device identifier
// for rate limits and metrics. It also gives clients what they need to
// hold a device key and sign requests.
//
// No error of this package quotes a header value or a key.
package device

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// Errors of header parsing and verification (401 #device).
var (
	// ErrKeyFormat is returned for a Sotto-Device value that is not
	// "ed25519:<b64u 32 bytes>" or "p256:<b64u 33-byte compressed point>".
	ErrKeyFormat = errors.New("device: malformed device key")
	// ErrSignature is returned for a Sotto-Signature that is malformed or
	// does not verify.
	ErrSignature = errors.New("device: bad signature")
	// ErrUntrusted is returned by a Policy for a key it does not trust.
	ErrUntrusted = errors.New("device: device not trusted")
)

// Alg is a device key algorithm.
type Alg uint8

// The device key algorithms of v1.
const (
	Ed25519 Alg = iota + 1
	P256
)

// String returns the header prefix of the algorithm ("ed25519", "p256").
func (a Alg) String() string {
	switch a {
	case Ed25519:
		return "ed25519"
	case P256:
		return "p256"
	}
	return fmt.Sprintf("alg(%d)", uint8(a))
}

var b64u = base64.RawURLEncoding.Strict()

// Key is a device's public key. The zero Key is invalid. Keys are
// comparable values; two Keys are equal when they are the same key.
type Key struct {
	alg Alg
	raw string // 32-byte Ed25519 key or 33-byte compressed P-256 point
}

// ParseKey parses a Sotto-Device header value.
func ParseKey(header string) (Key, error) {
	prefix, enc, ok := strings.Cut(header, ":")
	if !ok {
		return Key{}, ErrKeyFormat
	}
	raw, err := b64u.DecodeString(enc)
	if err != nil {
		return Key{}, ErrKeyFormat
	}
	switch {
	case prefix == "ed25519" && len(raw) == ed25519.PublicKeySize:
		return Key{alg: Ed25519, raw: string(raw)}, nil
	case prefix == "p256" && len(raw) == 33:
		if _, err := p256Key(raw); err != nil {
			return Key{}, err
		}
		return Key{alg: P256, raw: string(raw)}, nil
	}
	return Key{}, ErrKeyFormat
}

// p256Key decodes a SEC 1 compressed P-256 point.
func p256Key(raw []byte) (*ecdsa.PublicKey, error) {
	x, y := elliptic.UnmarshalCompressed(elliptic.P256(), raw)
	if x == nil {
		return nil, ErrKeyFormat
	}
	unc := make([]byte, 65)
	unc[0] = 4
	x.FillBytes(unc[1:33])
	y.FillBytes(unc[33:])
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), unc)
	if err != nil {
		return nil, ErrKeyFormat
	}
	return pub, nil
}

// Alg returns the key's algorithm.
func (k Key) Alg() Alg { return k.alg }

// Bytes returns the raw public key: 32 bytes (Ed25519) or the 33-byte
// compressed point (P-256).
func (k Key) Bytes() []byte { return []byte(k.raw) }

// String returns the key's Sotto-Device header value. Public keys are not
// secret, but they identify a device: do not log them (use ID).
func (k Key) String() string {
	if k.alg == 0 {
		return ""
	}
	return k.alg.String() + ":" + b64u.EncodeToString([]byte(k.raw))
}

// ID identifies a device without revealing its key: a keyed hash of the
// key under a random per-process secret. It is stable for the life of the
// process only, so it cannot be joined across restarts or servers.
type ID [16]byte

// String returns the ID in hex, for metrics and rate-limit keys.
func (id ID) String() string { return fmt.Sprintf("%x", id[:]) }

// idKey is the per-process secret of ID.
var idKey = func() []byte {
	k := make([]byte, 32)
	_, _ = rand.Read(k) // crypto/rand.Read never fails (Go 1.24+)
	return k
}()

// ID returns the key's per-process device identifier.
func (k Key) ID() ID {
	m := hmac.New(sha256.New, idKey)
	m.Write([]byte{byte(k.alg)})
	m.Write([]byte(k.raw))
	var id ID
	copy(id[:], m.Sum(nil))
	return id
}
