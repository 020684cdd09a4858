package enrol_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sottolabs/sotto/crypto/device"
	"github.com/sottolabs/sotto/crypto/device/attest"
	"github.com/sottolabs/sotto/crypto/device/enrol"
	"github.com/sottolabs/sotto/crypto/replay"
)

// heapSigner stands in for keys.Store in these tests.
type heapSigner struct{ priv ed25519.PrivateKey }

func (h heapSigner) SignOther(msg []byte) ([]byte, error) { return ed25519.Sign(h.priv, msg), nil }
func (h heapSigner) SigningPublicKey() ed25519.PublicKey  { return h.priv.Public().(ed25519.PublicKey) }

func newSigner() heapSigner {
	_, priv, _ := ed25519.GenerateKey(nil)
	return heapSigner{priv}
}

// clock is a settable clock for the service and its register.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

var b64u = base64.RawURLEncoding

// testDevice is a device key and its signing key.
type testDevice struct {
	priv ed25519.PrivateKey
	key  device.Key
}

func newDevice(t *testing.T) testDevice {
	t.Helper()
	pub, priv, _ := ed25519.GenerateKey(nil)
	k, err := device.ParseKey("ed25519:" + b64u.EncodeToString(pub))
	if err != nil {
		t.Fatal(err)
	}
	return testDevice{priv, k}
}

// sign returns the body and its Sotto-Signature.
func (d testDevice) sign(t *testing.T, req enrol.Request) ([]byte, string) {
	t.Helper()
	body, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	var h [32]byte
	copy(h[:], sha(body))
	return body, b64u.EncodeToString(ed25519.Sign(d.priv, device.Message(h)))
}

func newService(t *testing.T, c *clock, mod func(*enrol.Config)) *enrol.Service {
	t.Helper()
	cfg := enrol.Config{Signer: newSigner(), Register: replay.NewMemoryClock(100, c.now), Software: true,
		TTL: time.Hour, Now: c.now}
	if mod != nil {
		mod(&cfg)
	}
	return enrol.New(cfg)
}

func challenge(t *testing.T, s *enrol.Service) (string, []byte) {
	t.Helper()
	cr, err := s.Challenge()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := b64u.DecodeString(cr.Challenge)
	if err != nil {
		t.Fatal(err)
	}
	return cr.Challenge, raw
}

// softwareRequest is a software enrolment of d on a fresh challenge.
func softwareRequest(t *testing.T, s *enrol.Service, d testDevice) enrol.Request {
	enc, raw := challenge(t, s)
	cdh := attest.ClientDataHash(raw, d.key)
	return enrol.Request{Challenge: enc, Platform: enrol.Software, Evidence: b64u.EncodeToString(attest.SoftwareEvidence(cdh)), AppVersion: "1.0"}
}

func enrolOK(t *testing.T, s *enrol.Service, d testDevice, req enrol.Request) string {
	t.Helper()
	body, sig := d.sign(t, req)
	resp, _, err := s.Enrol(context.Background(), body, d.key.String(), sig)
	if err != nil {
		t.Fatalf("enrol: %v", err)
	}
	return resp.Credential
}

// tamper changes one character of s inside its signature, ten from the
// end (each base64url character there carries six bits of signature; the
// last may carry unused bits), always to a different one: replacing the
// tail with a fixed "AA" left it unchanged when it already ended so.
func tamper(s string) string {
	b := []byte(s)
	i := len(b) - 10
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

func trusted(s *enrol.Service, d testDevice, cred string) error {
	return s.Policy().Trusted(device.WithEnrolment(context.Background(), cred), d.key)
}

// TestSoftwareEnrolmentAndPolicy: a credential makes its key trusted, and
// only its key, only while live and not revoked.
func TestSoftwareEnrolmentAndPolicy(t *testing.T) {
	c := &clock{time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)}
	rev := filepath.Join(t.TempDir(), "revoked")
	if err := os.WriteFile(rev, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	revs, err := enrol.LoadRevocations(rev)
	if err != nil {
		t.Fatal(err)
	}
	s := newService(t, c, func(cfg *enrol.Config) { cfg.Revoked = revs })
	d, other := newDevice(t), newDevice(t)
	cred := enrolOK(t, s, d, softwareRequest(t, s, d))
	if err := trusted(s, d, cred); err != nil {
		t.Fatalf("enrolled device refused: %v", err)
	}
	for name, err := range map[string]error{
		"no credential":       s.Policy().Trusted(context.Background(), d.key),
		"other key":           trusted(s, other, cred),
		"tampered credential": trusted(s, d, tamper(cred)),
		"truncated":           trusted(s, d, cred[:len(cred)/2]),
		"other signer":        trusted(newService(t, c, nil), d, cred),
		"software disabled":   trusted(newService(t, c, func(cfg *enrol.Config) { cfg.Software = false }), d, cred),
	} {
		if !errors.Is(err, device.ErrUntrusted) {
			t.Errorf("%s: %v, want ErrUntrusted", name, err)
		}
	}
	for _, rule := range []string{"device " + d.key.String(), "app_version software 1.0", "environment development"} {
		if err := os.WriteFile(rev, []byte(rule+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := revs.Reload(); err != nil {
			t.Fatal(err)
		}
		if err := trusted(s, d, cred); !errors.Is(err, enrol.ErrRevoked) {
			t.Errorf("revoked by %q: %v", rule, err)
		}
		body, sig := d.sign(t, softwareRequest(t, s, d))
		if _, _, err := s.Enrol(context.Background(), body, d.key.String(), sig); !errors.Is(err, enrol.ErrRevoked) {
			t.Errorf("re-enrolment under %q: %v", rule, err)
		}
	}
	_ = os.WriteFile(rev, nil, 0o600)
	_ = revs.Reload()
	c.t = c.t.Add(time.Hour)
	if err := trusted(s, d, cred); !errors.Is(err, device.ErrUntrusted) {
		t.Fatalf("expired credential: %v", err)
	}
}

// TestChallengeRefusals: replayed, expired, forged and malformed
// challenges, a bad device signature, a disabled platform.
func TestChallengeRefusals(t *testing.T) {
	c := &clock{time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)}
	s := newService(t, c, nil)
	d := newDevice(t)
	req := softwareRequest(t, s, d)
	enrolOK(t, s, d, req)
	expired := softwareRequest(t, s, d)
	forged := softwareRequest(t, newService(t, c, nil), d)
	body, sig := d.sign(t, req)
	cases := []struct {
		name     string
		req      *enrol.Request
		body     []byte
		sig      string
		advance  time.Duration
		want     error
		wantCode string
	}{
		{"replayed challenge", nil, body, sig, 0, enrol.ErrChallengeUsed, "challenge_used"},
		{"forged challenge", &forged, nil, "", 0, enrol.ErrChallenge, "challenge"},
		{"malformed challenge", &enrol.Request{Challenge: "AAAA", Platform: enrol.Software}, nil, "", 0, enrol.ErrChallenge, "challenge"},
		{"bad signature", nil, body, b64u.EncodeToString(make([]byte, 64)), 0, enrol.ErrDevice, "device"},
		{"unknown platform", &enrol.Request{Challenge: req.Challenge, Platform: "windows"}, nil, "", 0, enrol.ErrPlatform, "platform"},
		{"not JSON", nil, []byte("{"), "", 0, enrol.ErrRequest, "request"},
		{"expired challenge", &expired, nil, "", enrol.ChallengeTTL, enrol.ErrChallengeExpired, "challenge_expired"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c.t = c.t.Add(tc.advance)
			body, sig := tc.body, tc.sig
			if tc.req != nil {
				body, sig = d.sign(t, *tc.req)
			} else if sig == "" { // sign the raw body as it is
				var h [32]byte
				copy(h[:], sha(body))
				sig = b64u.EncodeToString(ed25519.Sign(d.priv, device.Message(h)))
			}
			_, _, err := s.Enrol(context.Background(), body, d.key.String(), sig)
			if !errors.Is(err, tc.want) || enrol.Code(err) != tc.wantCode {
				t.Fatalf("err %v (code %s), want %v (%s)", err, enrol.Code(err), tc.want, tc.wantCode)
			}
		})
	}
}
