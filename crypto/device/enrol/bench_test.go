package enrol_test

import (
	"context"
	"testing"
	"time"

	"github.com/sottolabs/sotto/crypto/device"
	"github.com/sottolabs/sotto/crypto/device/enrol"
)

// BenchmarkPolicyTrusted is what the attested policy adds to every
// request: parse and verify the credential (EdDSA), subject, expiry,
// revocation.
func BenchmarkPolicyTrusted(b *testing.B) {
	t := &testing.T{}
	c := &clock{time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)}
	s := newService(t, c, nil)
	d := newDevice(t)
	ctx := device.WithEnrolment(context.Background(), enrolOK(t, s, d, softwareRequest(t, s, d)))
	p := s.Policy()
	for b.Loop() {
		if err := p.Trusted(ctx, d.key); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEnrolSoftware is one enrolment without platform evidence: the
// device signature, the challenge (issue and redeem: two EdDSA operations
// and the register) and a credential.
func BenchmarkEnrolSoftware(b *testing.B) {
	t := &testing.T{}
	c := &clock{time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)}
	s := enrol.New(enrol.Config{Signer: newSigner(), Register: newBigRegister(c), Software: true, TTL: time.Hour, Now: c.now})
	d := newDevice(t)
	for b.Loop() {
		body, sig := d.sign(t, softwareRequest(t, s, d))
		if _, _, err := s.Enrol(context.Background(), body, d.key.String(), sig); err != nil {
			b.Fatal(err)
		}
	}
}
