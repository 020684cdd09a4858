package attest_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/sottolabs/sotto/crypto/device"
	"github.com/sottolabs/sotto/crypto/device/attest"
	"github.com/sottolabs/sotto/crypto/device/attest/attesttest"
)

const appID = "ABCDE12345.com.example.sotto"

var t0 = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

func testKey(t *testing.T, seed byte) device.Key {
	t.Helper()
	pub := ed25519.NewKeyFromSeed(make32(seed)).Public().(ed25519.PublicKey)
	k, err := device.ParseKey("ed25519:" + b64u(pub))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func make32(b byte) []byte {
	s := make([]byte, 32)
	for i := range s {
		s[i] = b
	}
	return s
}

func verifier(ca *attesttest.AppleCA) *attest.AppAttest {
	return &attest.AppAttest{AppIDs: []string{appID}, Roots: ca.Roots, Now: func() time.Time { return t0 }}
}

// TestAppAttestMadeObjects: a genuine object passes; each defect is
// refused with its error.
func TestAppAttestMadeObjects(t *testing.T) {
	ca := attesttest.NewAppleCA(t0)
	challenge := make32(7)
	key := testKey(t, 1)
	cdh := attest.ClientDataHash(challenge, key)
	obj, kid, _ := ca.Attest(attesttest.Attestation{AppID: appID}, cdh)
	res, err := verifier(ca).VerifyAttestation(obj, kid, cdh)
	if err != nil || res.Environment != attest.Production || res.Platform != "apple" {
		t.Fatalf("genuine attestation: %+v, %v", res, err)
	}

	otherRoot := attesttest.NewAppleCA(t0)
	devObj, devKid, _ := ca.Attest(attesttest.Attestation{AppID: appID, Development: true}, cdh)
	ctrObj, ctrKid, _ := ca.Attest(attesttest.Attestation{AppID: appID, Counter: 1}, cdh)
	midObj, midKid, _ := ca.Attest(attesttest.Attestation{AppID: appID, WrongKeyID: true}, cdh)
	appObj, appKid, _ := ca.Attest(attesttest.Attestation{AppID: "ABCDE12345.com.example.other"}, cdh)
	tampered := append([]byte(nil), obj...)
	rp := sha256.Sum256([]byte(appID))
	tampered[bytes.Index(tampered, rp[:])+40] ^= 0xff // the authData's AAGUID: the nonce no longer matches
	otherKid := sha256.Sum256(midKid)                 // the id authData names in midObj, not the certificate key's
	otherKey := attest.ClientDataHash(challenge, testKey(t, 2))
	otherChallenge := attest.ClientDataHash(make32(8), key)
	cases := []struct {
		name string
		v    *attest.AppAttest
		obj  []byte
		kid  []byte
		cdh  [32]byte
		want error
	}{
		{"wrong root", verifier(otherRoot), obj, kid, cdh, attest.ErrChain},
		{"pinned Apple root", &attest.AppAttest{AppIDs: []string{appID}, Roots: attest.AppleRoots()}, obj, kid, cdh, attest.ErrChain},
		{"wrong app ID", verifier(ca), appObj, appKid, cdh, attest.ErrApp},
		{"other device key", verifier(ca), obj, kid, otherKey, attest.ErrNonce},
		{"other challenge", verifier(ca), obj, kid, otherChallenge, attest.ErrNonce},
		{"counter not 0", verifier(ca), ctrObj, ctrKid, cdh, attest.ErrCounter},
		{"development in production", verifier(ca), devObj, devKid, cdh, attest.ErrEnvironment},
		{"credential id mismatch", verifier(ca), midObj, midKid, cdh, attest.ErrKeyMismatch},
		{"key id mismatch", verifier(ca), obj, devKid, cdh, attest.ErrKeyMismatch},
		{"ids of another key", verifier(ca), midObj, otherKid[:], cdh, attest.ErrKeyMismatch},
		{"tampered CBOR", verifier(ca), tampered, kid, cdh, attest.ErrNonce},
		{"not CBOR", verifier(ca), []byte("{}"), kid, cdh, attest.ErrFormat},
		{"truncated", verifier(ca), obj[:len(obj)-3], kid, cdh, attest.ErrFormat},
		{"empty", verifier(ca), nil, kid, cdh, attest.ErrFormat},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := c.v.VerifyAttestation(c.obj, c.kid, c.cdh); !errors.Is(err, c.want) {
				t.Fatalf("err %v, want %v", err, c.want)
			}
		})
	}
	dev := verifier(ca)
	dev.AllowDevelopment = true
	if res, err := dev.VerifyAttestation(devObj, devKid, cdh); err != nil || res.Environment != attest.Development {
		t.Fatalf("development allowed: %+v, %v", res, err)
	}
}

// TestAppAttestAssertions: counters must increase; the signature binds
// the client data and the key.
func TestAppAttestAssertions(t *testing.T) {
	ca := attesttest.NewAppleCA(t0)
	v := verifier(ca)
	cdh := attest.ClientDataHash(make32(7), testKey(t, 1))
	obj, kid, priv := ca.Attest(attesttest.Attestation{AppID: appID}, cdh)
	res, err := v.VerifyAttestation(obj, kid, cdh)
	if err != nil {
		t.Fatal(err)
	}
	next := attest.ClientDataHash(make32(9), testKey(t, 1))
	n, err := v.VerifyAssertion(attesttest.Assert(priv, appID, 5, next), res.AttestedKey, next, 4)
	if err != nil || n != 5 {
		t.Fatalf("assertion: %d, %v", n, err)
	}
	_, _, stranger := ca.Attest(attesttest.Attestation{AppID: appID}, cdh)
	cases := []struct {
		name      string
		assertion []byte
		cdh       [32]byte
		last      uint32
		want      error
	}{
		{"counter repeated", attesttest.Assert(priv, appID, 5, next), next, 5, attest.ErrCounter},
		{"counter lower", attesttest.Assert(priv, appID, 3, next), next, 5, attest.ErrCounter},
		{"other client data", attesttest.Assert(priv, appID, 6, next), cdh, 5, attest.ErrChain},
		{"other key", attesttest.Assert(stranger, appID, 6, next), next, 5, attest.ErrChain},
		{"wrong app ID", attesttest.Assert(priv, "ABCDE12345.other", 6, next), next, 5, attest.ErrApp},
		{"truncated", attesttest.Assert(priv, appID, 6, next)[:20], next, 5, attest.ErrFormat},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := v.VerifyAssertion(c.assertion, res.AttestedKey, c.cdh, c.last); !errors.Is(err, c.want) {
				t.Fatalf("err %v, want %v", err, c.want)
			}
		})
	}
}
