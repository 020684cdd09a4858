package crypto

import (
	"fmt"

	"github.com/cloudflare/circl/hpke"
	"github.com/cloudflare/circl/kem"
)

// privateKey builds circl's private key from a 32-byte seed: the X25519
// scalar as is, or the X-Wing seed expanded into ML-KEM-768 and X25519 keys.
//
// The key is rebuilt for every request rather than cached: circl's key
// objects live in the Go heap and cannot be wiped, so a cache would keep
// one long-lived heap copy of every private key, while rebuilding leaves
// only short-lived garbage that is overwritten as the heap is reused. The
// cost (see docs/benchmarks.md) is about one X25519 base-point
// multiplication for X25519 and one ML-KEM-768 key generation for X-Wing.
func privateKey(s Suite, seed []byte) (kem.PrivateKey, error) {
	if !s.Supported() {
		return nil, ErrSuite
	}
	if len(seed) != SeedSize {
		return nil, fmt.Errorf("%w: private key must be %d bytes", ErrKey, SeedSize)
	}
	sk, err := hpke.KEM(s.KEM).Scheme().UnmarshalBinaryPrivateKey(seed)
	if err != nil {
		return nil, fmt.Errorf("%w: private key", ErrKey)
	}
	return sk, nil
}

// publicKey parses a suite's public key.
func publicKey(s Suite, pk []byte) (kem.PublicKey, error) {
	if !s.Supported() {
		return nil, ErrSuite
	}
	npk, _, _, _ := s.Sizes()
	if len(pk) != npk {
		return nil, fmt.Errorf("%w: public key must be %d bytes", ErrKey, npk)
	}
	pub, err := hpke.KEM(s.KEM).Scheme().UnmarshalBinaryPublicKey(pk)
	if err != nil {
		return nil, fmt.Errorf("%w: public key", ErrKey)
	}
	return pub, nil
}
