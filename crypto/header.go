package crypto

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Version is the envelope version byte of protocol v1.
const Version = 0x01

// HeaderSize is the size of the request header hdr.
const HeaderSize = 32

// ErrEnvelope is the one error for a request body that is malformed, names
// unknown algorithms or fails to decrypt. Open returns it, unwrapped, for
// every decryption failure so that no answer tells them apart.
var ErrEnvelope = errors.New("crypto: malformed or undecryptable envelope")

// Header is the 32-byte cleartext header of a request:
//
//	0x01 || key_id(1) || kem_id(2) || kdf_id(2) || aead_id(2) || ts(8) || rid(16)
//
// It is bound to the ciphertext through the HPKE info string.
type Header struct {
	KeyID uint8
	Suite Suite
	TS    int64 // Unix milliseconds
	RID   [16]byte
	Raw   [HeaderSize]byte
}

// ParseHeader checks the structure of a request body before any
// cryptography: version, known algorithm ids, and a length between
// 32 + Nenc + Nt + 256 and 32 + Nenc + Nt + 256 KiB whose ciphertext holds
// an inner request padded to a power of two. Every failure wraps
// ErrEnvelope; the details name only public header fields.
func ParseHeader(body []byte) (Header, error) {
	var h Header
	if len(body) < HeaderSize {
		return h, fmt.Errorf("%w: short header", ErrEnvelope)
	}
	if body[0] != Version {
		return h, fmt.Errorf("%w: version", ErrEnvelope)
	}
	copy(h.Raw[:], body[:HeaderSize])
	h.KeyID = body[1]
	h.Suite = Suite{
		KEM:  KEM(binary.BigEndian.Uint16(body[2:4])),
		KDF:  KDF(binary.BigEndian.Uint16(body[4:6])),
		AEAD: AEAD(binary.BigEndian.Uint16(body[6:8])),
	}
	_, nenc, _, ok := h.Suite.Sizes()
	if !ok {
		return h, fmt.Errorf("%w: unknown algorithm", ErrEnvelope)
	}
	ts := binary.BigEndian.Uint64(body[8:16])
	if ts > 1<<63-1 {
		return h, fmt.Errorf("%w: ts", ErrEnvelope)
	}
	h.TS = int64(ts)
	copy(h.RID[:], body[16:32])
	if len(body) < HeaderSize+nenc+Nt {
		return h, fmt.Errorf("%w: short body", ErrEnvelope)
	}
	if !validPaddedLen(len(body) - HeaderSize - nenc - Nt) {
		return h, fmt.Errorf("%w: padded length", ErrEnvelope)
	}
	return h, nil
}

// MaxBodySize returns the largest request body of suite s, or 0 for an
// unknown suite. Servers answer 413 above it.
func MaxBodySize(s Suite) int {
	_, nenc, _, ok := s.Sizes()
	if !ok {
		return 0
	}
	return HeaderSize + nenc + MaxRequestPadded + Nt
}

// requestInfo returns the HPKE info string of a request:
// "sotto/v1 request" || 0x00 || hdr.
func requestInfo(hdr []byte) []byte {
	info := make([]byte, 0, len(labelRequest)+1+HeaderSize)
	info = append(info, labelRequest...)
	info = append(info, 0)
	return append(info, hdr...)
}

// Labels of v1. They are ASCII without terminator; the request label is
// followed by a 0x00 separator in info.
const (
	labelRequest  = "sotto/v1 request"
	labelResponse = "sotto/v1 response"
	labelKey      = "key"
	labelNonce    = "nonce"
	aadFinal      = "final"
)

// encodeHeader builds hdr for the client.
func encodeHeader(s Suite, keyID uint8, ts int64, rid [16]byte) [HeaderSize]byte {
	var h [HeaderSize]byte
	h[0] = Version
	h[1] = keyID
	binary.BigEndian.PutUint16(h[2:4], uint16(s.KEM))
	binary.BigEndian.PutUint16(h[4:6], uint16(s.KDF))
	binary.BigEndian.PutUint16(h[6:8], uint16(s.AEAD))
	binary.BigEndian.PutUint64(h[8:16], uint64(ts))
	copy(h[16:], rid[:])
	return h
}
