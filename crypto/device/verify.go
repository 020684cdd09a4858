package device

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/sha256"
	"math/big"
)

// messageLabel starts the signed message; a 0x00 byte follows it.
const messageLabel = "sotto/v1 device"

// Message returns m = "sotto/v1 device" || 0x00 || SHA-256(body), given
// SHA-256(body).
func Message(bodySHA256 [32]byte) []byte {
	m := make([]byte, 0, len(messageLabel)+1+32)
	m = append(m, messageLabel...)
	m = append(m, 0)
	return append(m, bodySHA256[:]...)
}

// Verify checks the Sotto-Signature header value sig over body.
func (k Key) Verify(body []byte, sig string) error {
	return k.VerifyDigest(sha256.Sum256(body), sig)
}

// VerifyDigest checks the Sotto-Signature header value sig over the body
// whose SHA-256 is bodySHA256: pure Ed25519 over m, or ECDSA P-256 over
// SHA-256(m) as 64-byte r||s (tried first) or ASN.1 DER.
func (k Key) VerifyDigest(bodySHA256 [32]byte, sig string) error {
	s, err := b64u.DecodeString(sig)
	if err != nil || len(s) > 80 {
		return ErrSignature
	}
	m := Message(bodySHA256)
	switch k.alg {
	case Ed25519:
		if len(s) == ed25519.SignatureSize && ed25519.Verify(ed25519.PublicKey(k.raw), m, s) {
			return nil
		}
	case P256:
		if verifyP256([]byte(k.raw), m, s) {
			return nil
		}
	}
	return ErrSignature
}

func verifyP256(raw, m, sig []byte) bool {
	pub, err := p256Key(raw)
	if err != nil {
		return false
	}
	digest := sha256.Sum256(m)
	if len(sig) == 64 {
		r := new(big.Int).SetBytes(sig[:32])
		s := new(big.Int).SetBytes(sig[32:])
		if ecdsa.Verify(pub, digest[:], r, s) {
			return true
		}
	}
	return ecdsa.VerifyASN1(pub, digest[:], sig)
}
