// Package attest verifies platform attestation of a device key
// (docs/enrolment.md): Apple App Attest attestation objects and
// assertions, Google Play Integrity verdict tokens, and, for development
// and tests only, a software attestation that proves nothing about the
// device. Each verifier checks that its evidence binds the server's
// challenge and the Sotto device key (ClientDataHash) and returns what
// the enrolment record needs.
//
// Trust anchors are injected: the App Attest root is compiled in
// (AppleRoots) and Google's keys come from the operator; tests pass
// their own roots and keys through the same fields.
//
// No error of this package quotes the evidence, a key or a token.
package attest

import (
	"crypto/sha256"
	"errors"

	"github.com/sottolabs/sotto/crypto/device"
)

// Errors of verification. Each refusal wraps exactly one of them.
var (
	// ErrFormat: the evidence does not parse (bad CBOR, truncated token,
	// wrong attestation format).
	ErrFormat = errors.New("attest: malformed evidence")
	// ErrChain: the certificate chain does not reach a trusted root, or a
	// signature does not verify.
	ErrChain = errors.New("attest: untrusted certificate or signature")
	// ErrApp: the evidence names another app (RP ID hash, package name,
	// signing certificate).
	ErrApp = errors.New("attest: wrong app")
	// ErrNonce: the evidence does not bind this challenge and device key.
	ErrNonce = errors.New("attest: evidence not bound to the challenge and device key")
	// ErrKeyMismatch: the attested key does not match its key identifier.
	ErrKeyMismatch = errors.New("attest: attested key mismatch")
	// ErrCounter: the signature counter is not what it must be (0 at
	// attestation, increasing in assertions).
	ErrCounter = errors.New("attest: bad signature counter")
	// ErrEnvironment: development evidence where only production is
	// accepted.
	ErrEnvironment = errors.New("attest: development environment refused")
	// ErrVerdict: the integrity verdict does not meet the requirements.
	ErrVerdict = errors.New("attest: integrity verdict refused")
	// ErrStale: the verdict is older than allowed (or from the future).
	ErrStale = errors.New("attest: verdict outside its freshness window")
)

// Environments of an attestation.
const (
	Production  = "production"
	Development = "development"
)

// clientDataLabel starts the client data; a 0x00 byte follows it.
const clientDataLabel = "sotto/v1 enrol"

// ClientData returns the bytes an app attests: "sotto/v1 enrol" || 0x00
// || challenge || the device key's Sotto-Device header value. Binding the
// device key here is what makes the platform vouch for the key the app
// signs requests with, not only for the platform's own key.
func ClientData(challenge []byte, key device.Key) []byte {
	k := key.String()
	b := make([]byte, 0, len(clientDataLabel)+1+len(challenge)+len(k))
	b = append(b, clientDataLabel...)
	b = append(b, 0)
	b = append(b, challenge...)
	return append(b, k...)
}

// ClientDataHash is SHA-256(ClientData): App Attest's clientDataHash and,
// base64url-encoded, Play Integrity's requestHash.
func ClientDataHash(challenge []byte, key device.Key) [32]byte {
	return sha256.Sum256(ClientData(challenge, key))
}

// Result is what a verified attestation says.
type Result struct {
	Platform    string // "apple", "android" or "software"
	Environment string // Production or Development
	// AppVersion is the app's version as the evidence states it (Play
	// Integrity's versionCode); empty when the platform does not say.
	AppVersion string
	// AttestedKey is the platform key for later assertions (App Attest:
	// the uncompressed P-256 point); nil otherwise.
	AttestedKey []byte
	// Counter is the platform's signature counter (App Attest).
	Counter uint32
}
