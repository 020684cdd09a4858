package attest_test

import (
	"testing"
	"time"

	"github.com/sottolabs/sotto/crypto/device/attest"
	"github.com/sottolabs/sotto/crypto/device/attest/attesttest"
)

// BenchmarkAppAttestAttestation verifies one attestation object: CBOR,
// the P-384 chain, the nonce, the key id.
func BenchmarkAppAttestAttestation(b *testing.B) {
	ca := attesttest.NewAppleCA(t0)
	cdh := attest.ClientDataHash(make32(7), testKey(&testing.T{}, 1))
	obj, kid, _ := ca.Attest(attesttest.Attestation{AppID: appID}, cdh)
	v := verifier(ca)
	for b.Loop() {
		if _, err := v.VerifyAttestation(obj, kid, cdh); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPlayIntegrityToken decrypts and verifies one verdict token.
func BenchmarkPlayIntegrityToken(b *testing.B) {
	p := attesttest.NewPlay()
	cdh := attest.ClientDataHash(make32(7), testKey(&testing.T{}, 1))
	tok := p.Token(attesttest.NewVerdict(pkg, cdh, digest, t0.Add(-time.Second)))
	v := playVerifier(p)
	for b.Loop() {
		if _, err := v.Verify(tok, cdh); err != nil {
			b.Fatal(err)
		}
	}
}
