package attest_test

import (
	"encoding/base64"
	"errors"
	"testing"
	"time"

	"github.com/sottolabs/sotto/crypto/device/attest"
	"github.com/sottolabs/sotto/crypto/device/attest/attesttest"
)

const (
	pkg    = "com.example.sotto"
	digest = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
)

func b64u(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func playVerifier(p *attesttest.Play) *attest.PlayIntegrity {
	return &attest.PlayIntegrity{PackageNames: []string{pkg}, CertDigests: []string{digest},
		DecryptionKey: p.DecryptionKey, VerificationKey: p.VerificationKey, Now: func() time.Time { return t0 }}
}

// TestPlayIntegrity: a genuine verdict passes; each defect is refused.
func TestPlayIntegrity(t *testing.T) {
	p := attesttest.NewPlay()
	cdh := attest.ClientDataHash(make32(7), testKey(t, 1))
	good := attesttest.NewVerdict(pkg, cdh, digest, t0.Add(-time.Minute))
	res, err := playVerifier(p).Verify(p.Token(good), cdh)
	if err != nil || res.Environment != attest.Production || res.AppVersion != "42" || res.Platform != "android" {
		t.Fatalf("genuine verdict: %+v, %v", res, err)
	}
	with := func(f func(*attesttest.Verdict)) string {
		v := good
		f(&v)
		return p.Token(v)
	}
	token := p.Token(good)
	other := attesttest.NewPlay()
	cases := []struct {
		name  string
		token string
		cdh   [32]byte
		want  error
	}{
		{"wrong keys", other.Token(good), cdh, attest.ErrChain},
		{"wrong package", with(func(v *attesttest.Verdict) { v.Package = "com.example.evil" }), cdh, attest.ErrApp},
		{"wrong certificate", with(func(v *attesttest.Verdict) { v.CertDigest = b64u(make32(1)) }), cdh, attest.ErrApp},
		{"other device key", token, attest.ClientDataHash(make32(7), testKey(t, 2)), attest.ErrNonce},
		{"other challenge", token, attest.ClientDataHash(make32(8), testKey(t, 1)), attest.ErrNonce},
		{"stale", with(func(v *attesttest.Verdict) { v.Time = t0.Add(-time.Hour) }), cdh, attest.ErrStale},
		{"from the future", with(func(v *attesttest.Verdict) { v.Time = t0.Add(time.Hour) }), cdh, attest.ErrStale},
		{"no device integrity", with(func(v *attesttest.Verdict) { v.DeviceVerdicts = nil }), cdh, attest.ErrVerdict},
		{"unrecognised app", with(func(v *attesttest.Verdict) { v.Recognition = "UNEVALUATED" }), cdh, attest.ErrVerdict},
		{"development in production", with(func(v *attesttest.Verdict) { v.Recognition = "UNRECOGNIZED_VERSION" }), cdh, attest.ErrEnvironment},
		{"truncated token", token[:len(token)-10], cdh, attest.ErrChain},
		{"cut token", token[:len(token)/2], cdh, attest.ErrFormat},
		{"not a token", "x.y", cdh, attest.ErrFormat},
		{"payload not JSON", p.Seal([]byte("not json")), cdh, attest.ErrFormat},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := playVerifier(p).Verify(c.token, c.cdh); !errors.Is(err, c.want) {
				t.Fatalf("err %v, want %v", err, c.want)
			}
		})
	}
}

// TestSoftwareEvidence: the development attester binds only the client
// data hash.
func TestSoftwareEvidence(t *testing.T) {
	cdh := attest.ClientDataHash(make32(7), testKey(t, 1))
	if res, err := (attest.Software{}).Verify(attest.SoftwareEvidence(cdh), cdh); err != nil || res.Environment != attest.Development {
		t.Fatalf("software: %+v, %v", res, err)
	}
	other := attest.ClientDataHash(make32(7), testKey(t, 2))
	if _, err := (attest.Software{}).Verify(attest.SoftwareEvidence(other), cdh); !errors.Is(err, attest.ErrNonce) {
		t.Fatalf("other key: %v", err)
	}
}
