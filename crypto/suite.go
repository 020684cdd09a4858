// Package crypto implements the Sotto wire protocol v1: the HPKE (RFC 9180)
// request envelope a client seals to the server's public key, the strict
// parser for the inner request the server opens in locked memory, and the
// sealed Server-Sent Events response stream with its chunk key schedule
// (after RFC 9458 and chunked OHTTP). docs/protocol.md is the normative
// description; this package is its reference implementation.
//
// Plaintext never leaves locked memory (internal/locked) on the server side
// and never becomes a Go string. Every failure to open a request is the same
// ErrEnvelope, so that no error distinguishes why a body was refused.
package crypto

import (
	"errors"
	"fmt"
	"io"

	"github.com/cloudflare/circl/hpke"

	"github.com/sottolabs/sotto/internal/locked"
)

// KEM is an HPKE KEM identifier (RFC 9180 section 7.1).
type KEM uint16

// KDF is an HPKE KDF identifier (RFC 9180 section 7.2).
type KDF uint16

// AEAD is an HPKE AEAD identifier (RFC 9180 section 7.3).
type AEAD uint16

// The algorithm identifiers the protocol knows. KEM_XWING is X-Wing
// (ML-KEM-768 + X25519), whose HPKE code point is 0x647A (25722).
const (
	KEM_X25519 KEM = 0x0020
	KEM_XWING  KEM = 0x647A

	KDF_HKDF_SHA256 KDF = 0x0001

	AEAD_ChaCha20Poly1305 AEAD = 0x0003
)

// Sizes fixed by the single AEAD and KDF of v1 (ChaCha20-Poly1305,
// HKDF-SHA256).
const (
	Nk = 32 // AEAD key
	Nn = 12 // AEAD nonce
	Nt = 16 // AEAD tag
	Nh = 32 // KDF output (SHA-256)

	// SeedSize is the size of every private key: the X25519 scalar or the
	// X-Wing seed.
	SeedSize = 32
)

// Suite is an HPKE cipher suite: a KEM, a KDF and an AEAD.
type Suite struct {
	KEM  KEM
	KDF  KDF
	AEAD AEAD
}

// The two suites of v1. SuiteX25519 is the default every client must
// support; SuiteXWing is the post-quantum suite every server must offer.
var (
	SuiteX25519 = Suite{KEM: KEM_X25519, KDF: KDF_HKDF_SHA256, AEAD: AEAD_ChaCha20Poly1305}
	SuiteXWing  = Suite{KEM: KEM_XWING, KDF: KDF_HKDF_SHA256, AEAD: AEAD_ChaCha20Poly1305}
)

// ErrSuite is returned for a suite the protocol does not define.
var ErrSuite = errors.New("crypto: unsupported suite")

// ErrKey is returned for a malformed public or private key.
var ErrKey = errors.New("crypto: malformed key")

// Sizes returns the public key, encapsulated key and private key sizes of
// the suite's KEM, as in the protocol's suite table; ok is false for a
// suite the protocol does not define.
func (s Suite) Sizes() (npk, nenc, nsk int, ok bool) {
	if s.KDF != KDF_HKDF_SHA256 || s.AEAD != AEAD_ChaCha20Poly1305 {
		return 0, 0, 0, false
	}
	switch s.KEM {
	case KEM_X25519:
		return 32, 32, SeedSize, true
	case KEM_XWING:
		return 1216, 1120, SeedSize, true
	}
	return 0, 0, 0, false
}

// Supported reports whether the protocol defines s.
func (s Suite) Supported() bool {
	_, _, _, ok := s.Sizes()
	return ok
}

// String returns the suite's name for logs and metrics ("x25519",
// "xwing"), or its ids in hex.
func (s Suite) String() string {
	switch s {
	case SuiteX25519:
		return "x25519"
	case SuiteXWing:
		return "xwing"
	}
	return fmt.Sprintf("suite(%#04x,%#04x,%#04x)", uint16(s.KEM), uint16(s.KDF), uint16(s.AEAD))
}

// hpke returns circl's suite for s, which must be supported.
func (s Suite) hpke() hpke.Suite {
	return hpke.NewSuite(hpke.KEM(s.KEM), hpke.KDF(s.KDF), hpke.AEAD(s.AEAD))
}

// GenerateKeyPair draws a new private key (a 32-byte seed) from rand into a
// locked buffer charged to budget, and returns it with its public key. The
// caller owns seed and must Destroy it.
func GenerateKeyPair(s Suite, rand io.Reader, budget *locked.Budget) (pub []byte, seed *locked.Buffer, err error) {
	if !s.Supported() {
		return nil, nil, ErrSuite
	}
	seed, err = budget.Alloc(SeedSize)
	if err != nil {
		return nil, nil, fmt.Errorf("crypto: key generation: %w", err)
	}
	if _, err := io.ReadFull(rand, seed.Bytes()); err != nil {
		seed.Destroy()
		return nil, nil, fmt.Errorf("crypto: key generation: %w", err)
	}
	pub, err = PublicKey(s, seed.Bytes())
	if err != nil {
		seed.Destroy()
		return nil, nil, err
	}
	return pub, seed, nil
}

// PublicKey returns the public key of the private key seed.
func PublicKey(s Suite, seed []byte) ([]byte, error) {
	sk, err := privateKey(s, seed)
	if err != nil {
		return nil, err
	}
	return sk.Public().MarshalBinary()
}
