package enrol

import (
	"github.com/sottolabs/sotto/crypto/device"
	"github.com/sottolabs/sotto/crypto/device/attest"
)

// verify checks the platform evidence of req over cdh.
func (s *Service) verify(req Request, key device.Key, cdh [32]byte) (attest.Result, error) {
	switch req.Platform {
	case Apple:
		if req.Assertion != "" {
			return s.recheckApple(req, key, cdh)
		}
		kid, err1 := b64u.DecodeString(req.KeyID)
		obj, err2 := b64u.DecodeString(req.Attestation)
		if err1 != nil || err2 != nil {
			return attest.Result{}, wrap(attest.ErrFormat, "encoding")
		}
		return s.Apple.VerifyAttestation(obj, kid, cdh)
	case Android:
		return s.Play.Verify(req.Token, cdh)
	default:
		ev, err := b64u.DecodeString(req.Evidence)
		if err != nil {
			return attest.Result{}, wrap(attest.ErrFormat, "encoding")
		}
		return attest.Software{}.Verify(ev, cdh)
	}
}

// recheckApple renews an App Attest credential with an assertion by the
// key it attested: the counter must pass the credential's.
func (s *Service) recheckApple(req Request, key device.Key, cdh [32]byte) (attest.Result, error) {
	prev, err := parse(req.Credential, s.signer.SigningPublicKey(), key)
	if err != nil {
		return attest.Result{}, err
	}
	if prev.Platform != Apple || prev.AttestedKey == "" || s.now().After(expiresAt(prev).Add(s.RecheckGrace)) {
		return attest.Result{}, wrap(ErrCredential, "cannot be renewed")
	}
	ak, err1 := b64u.DecodeString(prev.AttestedKey)
	as, err2 := b64u.DecodeString(req.Assertion)
	if err1 != nil || err2 != nil {
		return attest.Result{}, wrap(attest.ErrFormat, "encoding")
	}
	n, err := s.Apple.VerifyAssertion(as, ak, cdh, prev.Counter)
	if err != nil {
		return attest.Result{}, err
	}
	return attest.Result{Platform: Apple, Environment: prev.Environment, AttestedKey: ak, Counter: n}, nil
}
