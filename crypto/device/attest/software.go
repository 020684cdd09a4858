package attest

import (
	"crypto/subtle"
	"fmt"
)

// Software "verifies" the evidence of a software attester: the client
// data hash itself. It proves only that the client saw the challenge and
// named its device key, nothing about the app or the device; it exists
// so that development setups and tests can run the whole enrolment flow.
// The server accepts it only when the operator enables it, which
// production refuses.
type Software struct{}

// SoftwareEvidence is the evidence a software attester sends.
func SoftwareEvidence(clientDataHash [32]byte) []byte { return clientDataHash[:] }

// Verify checks that evidence is clientDataHash.
func (Software) Verify(evidence []byte, clientDataHash [32]byte) (Result, error) {
	if subtle.ConstantTimeCompare(evidence, clientDataHash[:]) != 1 {
		return Result{}, fmt.Errorf("%w: software evidence", ErrNonce)
	}
	return Result{Platform: "software", Environment: Development}, nil
}
