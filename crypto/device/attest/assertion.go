package attest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"fmt"
	"slices"
)

// assertionObject is the CBOR map generateAssertion returns.
type assertionObject struct {
	Signature         []byte `cbor:"signature"`
	AuthenticatorData []byte `cbor:"authenticatorData"`
}

// VerifyAssertion checks an App Attest assertion by the key attested
// earlier (attestedKey: the uncompressed P-256 point of Result) over
// clientDataHash, and that its counter is above lastCounter. It returns
// the new counter.
func (v *AppAttest) VerifyAssertion(assertion, attestedKey []byte, clientDataHash [32]byte, lastCounter uint32) (uint32, error) {
	var obj assertionObject
	if err := decMode.Unmarshal(assertion, &obj); err != nil || len(obj.Signature) == 0 {
		return 0, fmt.Errorf("%w: assertion object", ErrFormat)
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), attestedKey)
	if err != nil {
		return 0, fmt.Errorf("%w: attested key", ErrKeyMismatch)
	}
	// The key signs nonce = SHA-256(authenticatorData || clientDataHash)
	// with ES256, which hashes its message once more.
	nonce := sha256.Sum256(append(slices.Clip(obj.AuthenticatorData), clientDataHash[:]...))
	digest := sha256.Sum256(nonce[:])
	if !ecdsa.VerifyASN1(pub, digest[:], obj.Signature) {
		return 0, fmt.Errorf("%w: assertion signature", ErrChain)
	}
	ad, err := parseAuthData(obj.AuthenticatorData, false)
	if err != nil {
		return 0, err
	}
	if !v.appIDMatches(ad.rpIDHash) {
		return 0, fmt.Errorf("%w: RP ID hash", ErrApp)
	}
	if ad.counter <= lastCounter {
		return 0, fmt.Errorf("%w: counter did not increase", ErrCounter)
	}
	return ad.counter, nil
}
