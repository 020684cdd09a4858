package enrol_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sottolabs/sotto/crypto/device/attest"
	"github.com/sottolabs/sotto/crypto/device/attest/attesttest"
	"github.com/sottolabs/sotto/crypto/device/enrol"
)

const appID = "ABCDE12345.com.example.sotto"

// TestAppleEnrolmentAndRecheck: an attestation enrols; an assertion with
// a higher counter renews the credential; a repeated counter, another
// device's credential or an attestation of another app do not.
func TestAppleEnrolmentAndRecheck(t *testing.T) {
	c := &clock{time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)}
	ca := attesttest.NewAppleCA(c.t)
	s := newService(t, c, func(cfg *enrol.Config) {
		cfg.Apple = &attest.AppAttest{AppIDs: []string{appID}, Roots: ca.Roots, Now: c.now}
	})
	d, other := newDevice(t), newDevice(t)
	enc, raw := challenge(t, s)
	obj, kid, akey := ca.Attest(attesttest.Attestation{AppID: appID}, attest.ClientDataHash(raw, d.key))
	cred := enrolOK(t, s, d, enrol.Request{Challenge: enc, Platform: enrol.Apple,
		KeyID: b64u.EncodeToString(kid), Attestation: b64u.EncodeToString(obj), AppVersion: "2.1"})
	if err := trusted(s, d, cred); err != nil {
		t.Fatalf("attested device refused: %v", err)
	}
	c.t = c.t.Add(2 * time.Hour) // expired: the app re-checks with an assertion
	if err := trusted(s, d, cred); err == nil {
		t.Fatal("expired credential trusted")
	}
	recheck := func(dev testDevice, counter uint32, prev string) (string, error) {
		enc, raw := challenge(t, s)
		as := attesttest.Assert(akey, appID, counter, attest.ClientDataHash(raw, dev.key))
		body, sig := dev.sign(t, enrol.Request{Challenge: enc, Platform: enrol.Apple,
			Assertion: b64u.EncodeToString(as), Credential: prev})
		resp, _, err := s.Enrol(context.Background(), body, dev.key.String(), sig)
		return resp.Credential, err
	}
	renewed, err := recheck(d, 1, cred)
	if err != nil {
		t.Fatalf("assertion re-check: %v", err)
	}
	if err := trusted(s, d, renewed); err != nil {
		t.Fatalf("renewed credential refused: %v", err)
	}
	if _, err := recheck(d, 1, renewed); !errors.Is(err, attest.ErrCounter) {
		t.Fatalf("counter not increasing: %v", err)
	}
	if _, err := recheck(other, 2, renewed); !errors.Is(err, enrol.ErrCredential) {
		t.Fatalf("another device's credential: %v", err)
	}
	c.t = c.t.Add(enrol.DefaultRecheckGrace + 2*time.Hour)
	if _, err := recheck(d, 3, renewed); !errors.Is(err, enrol.ErrCredential) {
		t.Fatalf("credential past its grace: %v", err)
	}
}

// TestAndroidEnrolment: a verdict enrols with its version code; a verdict
// for another challenge is refused.
func TestAndroidEnrolment(t *testing.T) {
	c := &clock{time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)}
	p := attesttest.NewPlay()
	s := newService(t, c, func(cfg *enrol.Config) {
		cfg.Play = &attest.PlayIntegrity{PackageNames: []string{"com.example.sotto"},
			DecryptionKey: p.DecryptionKey, VerificationKey: p.VerificationKey, Now: c.now}
	})
	d := newDevice(t)
	enc, raw := challenge(t, s)
	tok := p.Token(attesttest.NewVerdict("com.example.sotto", attest.ClientDataHash(raw, d.key), "x", c.t))
	body, sig := d.sign(t, enrol.Request{Challenge: enc, Platform: enrol.Android, Token: tok})
	_, claims, err := s.Enrol(context.Background(), body, d.key.String(), sig)
	if err != nil || claims.AppVersion != "42" || claims.Environment != attest.Production {
		t.Fatalf("android enrolment: %+v, %v", claims, err)
	}
	enc2, _ := challenge(t, s)
	body, sig = d.sign(t, enrol.Request{Challenge: enc2, Platform: enrol.Android, Token: tok})
	if _, _, err := s.Enrol(context.Background(), body, d.key.String(), sig); enrol.Code(err) != "nonce" {
		t.Fatalf("verdict of another challenge: %v", err)
	}
}
