// Package enrol turns platform attestation into trust without an
// operator step (docs/enrolment.md, docs/protocol.md section 6b): a
// server issues single-use challenges, checks an app's attestation of its
// device key (package attest), and answers a signed, expiring enrolment
// credential that the device then presents with every request; Policy
// trusts a device key whose credential verifies and is not revoked.
//
// Challenges and credentials are signed with the key directory's signing
// key (keys.Store.SignOther), so every worker holding the same directory
// accepts them and no enrolment state is kept beyond the single-use
// register. A blind router holds no key directory: it relays enrolment
// to workers and never sees the evidence's meaning.
//
// No error of this package quotes evidence, a key, a challenge or a
// credential.
package enrol

import (
	"crypto/ed25519"
	"errors"
	"fmt"

	"github.com/sottolabs/sotto/crypto/device/attest"
)

// Signer is what the service needs of the key directory (keys.Store).
type Signer interface {
	SignOther(msg []byte) ([]byte, error)
	SigningPublicKey() ed25519.PublicKey
}

// Errors of enrolment, beside attest's. Each refusal wraps one of them
// or one of attest's; Code names it.
var (
	ErrRequest          = errors.New("enrol: malformed enrolment request")
	ErrDevice           = errors.New("enrol: device key or signature invalid")
	ErrChallenge        = errors.New("enrol: challenge not issued by this service")
	ErrChallengeExpired = errors.New("enrol: challenge expired")
	ErrChallengeUsed    = errors.New("enrol: challenge already used")
	ErrPlatform         = errors.New("enrol: platform not enabled")
	ErrRevoked          = errors.New("enrol: device revoked")
	ErrCredential       = errors.New("enrol: credential invalid")
	ErrFull             = errors.New("enrol: challenge register full")
)

// codes maps each refusal to its problem code and metrics outcome, a
// fixed vocabulary (docs/protocol.md section 6b).
var codes = []struct {
	err  error
	code string
}{
	{ErrRequest, "request"}, {ErrDevice, "device"}, {ErrChallenge, "challenge"},
	{ErrChallengeExpired, "challenge_expired"}, {ErrChallengeUsed, "challenge_used"},
	{ErrPlatform, "platform"}, {ErrRevoked, "revoked"}, {ErrCredential, "credential"},
	{attest.ErrFormat, "format"}, {attest.ErrChain, "chain"}, {attest.ErrApp, "app"},
	{attest.ErrNonce, "nonce"}, {attest.ErrKeyMismatch, "key"}, {attest.ErrCounter, "counter"},
	{attest.ErrEnvironment, "environment"}, {attest.ErrVerdict, "verdict"}, {attest.ErrStale, "stale"},
}

// Code returns the refusal code of err, or "internal".
func Code(err error) string {
	for _, c := range codes {
		if errors.Is(err, c.err) {
			return c.code
		}
	}
	return "internal"
}

// Codes lists every refusal code (metrics, documentation).
func Codes() []string {
	out := make([]string, 0, len(codes)+1)
	for _, c := range codes {
		out = append(out, c.code)
	}
	return append(out, "internal")
}

// Platforms.
const (
	Apple    = "apple"
	Android  = "android"
	Software = "software"
)

// Platforms lists the platform names.
func Platforms() []string { return []string{Apple, Android, Software} }

func wrap(sentinel error, what string) error { return fmt.Errorf("%w: %s", sentinel, what) }
