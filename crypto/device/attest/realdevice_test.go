package attest_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/sottolabs/sotto/crypto/device/attest"
)

// realSample is testdata/appattest-ios14.4-development.json (see
// testdata/README.md for where it comes from).
type realSample struct {
	AppID            string `json:"app_id"`
	CapturedAt       string `json:"captured_at"`
	KeyID            string `json:"key_id_b64"`
	ClientData       string `json:"client_data_b64"`
	ClientDataHash   string `json:"client_data_hash_b64"`
	Attestation      string `json:"attestation_b64"`
	Assertion        string `json:"assertion_b64"`
	AssertionCounter uint32 `json:"assertion_counter"`
}

func loadReal(t *testing.T) (realSample, *attest.AppAttest, [32]byte) {
	t.Helper()
	b, err := os.ReadFile("testdata/appattest-ios14.4-development.json")
	if err != nil {
		t.Fatal(err)
	}
	var s realSample
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	at, err := time.Parse(time.RFC3339, s.CapturedAt)
	if err != nil {
		t.Fatal(err)
	}
	cdh := sha256.Sum256(b64(t, s.ClientData))
	if base64.StdEncoding.EncodeToString(cdh[:]) != s.ClientDataHash {
		t.Fatal("sample's client data hash is not the SHA-256 of its client data")
	}
	v := &attest.AppAttest{AppIDs: []string{s.AppID}, Roots: attest.AppleRoots(), AllowDevelopment: true,
		Now: func() time.Time { return at }}
	return s, v, cdh
}

func b64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestAppleRootFingerprint recomputes the pinned root's SHA-256.
func TestAppleRootFingerprint(t *testing.T) {
	sum := sha256.Sum256(attest.AppleRootDER())
	if got := hex.EncodeToString(sum[:]); got != attest.AppleRootSHA256 {
		t.Fatalf("compiled-in root SHA-256 %s, want %s", got, attest.AppleRootSHA256)
	}
}

// TestRealDeviceAttestation verifies a device-made attestation object
// against the compiled-in Apple root, then its assertion.
func TestRealDeviceAttestation(t *testing.T) {
	s, v, cdh := loadReal(t)
	res, err := v.VerifyAttestation(b64(t, s.Attestation), b64(t, s.KeyID), cdh)
	if err != nil {
		t.Fatalf("real attestation refused: %v", err)
	}
	if res.Environment != attest.Development || res.Counter != 0 || len(res.AttestedKey) != 65 {
		t.Fatalf("result %+v", res)
	}
	n, err := v.VerifyAssertion(b64(t, s.Assertion), res.AttestedKey, cdh, 0)
	if err != nil || n != s.AssertionCounter {
		t.Fatalf("real assertion: counter %d, err %v", n, err)
	}
	if _, err := v.VerifyAssertion(b64(t, s.Assertion), res.AttestedKey, cdh, s.AssertionCounter); !errors.Is(err, attest.ErrCounter) {
		t.Fatalf("replayed assertion: %v, want ErrCounter", err)
	}
}

// TestRealDeviceRefusals: the same object refused for each wrong input.
func TestRealDeviceRefusals(t *testing.T) {
	s, v, cdh := loadReal(t)
	obj, kid := b64(t, s.Attestation), b64(t, s.KeyID)
	prod := *v
	prod.AllowDevelopment = false
	other := *v
	other.AppIDs = []string{"6MURL8TA57.com.example.other"}
	late := *v
	late.Now = func() time.Time { return time.Date(2021, 2, 1, 0, 0, 0, 0, time.UTC) }
	wrongHash := cdh
	wrongHash[0] ^= 1
	badKid := append([]byte(nil), kid...)
	badKid[31] ^= 1
	cases := []struct {
		name string
		v    *attest.AppAttest
		obj  []byte
		kid  []byte
		cdh  [32]byte
		want error
	}{
		{"development in production", &prod, obj, kid, cdh, attest.ErrEnvironment},
		{"wrong app ID", &other, obj, kid, cdh, attest.ErrApp},
		{"wrong nonce", v, obj, kid, wrongHash, attest.ErrNonce},
		{"key id mismatch", v, obj, badKid, cdh, attest.ErrKeyMismatch},
		{"expired certificate", &late, obj, kid, cdh, attest.ErrChain},
		{"truncated", v, obj[:len(obj)/2], kid, cdh, attest.ErrFormat},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := c.v.VerifyAttestation(c.obj, c.kid, c.cdh); !errors.Is(err, c.want) {
				t.Fatalf("err %v, want %v", err, c.want)
			}
		})
	}
}
