package enrol_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sottolabs/sotto/crypto/device"
	"github.com/sottolabs/sotto/crypto/device/attest"
	"github.com/sottolabs/sotto/crypto/device/enrol"
	"github.com/sottolabs/sotto/crypto/replay"
)

var update = flag.Bool("update", false, "rewrite testdata/enrolment-vectors.json")

const vectorsPath = "../../../testdata/enrolment-vectors.json"

// vectors are the enrolment vectors of docs/protocol.md section 6b.
type vectors struct {
	SigningSeed     string       `json:"signing_seed_hex"`
	SigningPublic   string       `json:"signing_public_b64u"`
	DeviceSeed      string       `json:"device_seed_hex"`
	Device          string       `json:"device"`
	ChallengeID     string       `json:"challenge_id_hex"`
	ChallengeExpMS  int64        `json:"challenge_expires_ms"`
	ChallengeTBS    string       `json:"challenge_tbs_hex"`
	Challenge       string       `json:"challenge_b64u"`
	RegisterID      string       `json:"challenge_register_id_hex"`
	ClientData      string       `json:"client_data_hex"`
	ClientDataHash  string       `json:"client_data_hash_hex"`
	RequestHash     string       `json:"play_request_hash"`
	EnrolBody       string       `json:"enrol_request_body"`
	EnrolSignature  string       `json:"enrol_request_sotto_signature"`
	Claims          enrol.Claims `json:"credential_claims"`
	CredentialJWS   string       `json:"credential"`
	ProtectedHeader string       `json:"credential_protected_header"`
}

func makeVectors(t *testing.T) vectors {
	signPriv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{0x11}, 32))
	devPriv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{0x22}, 32))
	dev, err := device.PublicKey(devPriv)
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	v.SigningSeed, v.DeviceSeed = strings.Repeat("11", 32), strings.Repeat("22", 32)
	v.SigningPublic = b64u.EncodeToString(signPriv.Public().(ed25519.PublicKey))
	v.Device = dev.String()
	id := bytes.Repeat([]byte{0x33}, 16)
	v.ChallengeID, v.ChallengeExpMS = hex.EncodeToString(id), 1796558700000 // 2026-12-06T12:05:00Z
	idExp := binary.BigEndian.AppendUint64(append([]byte(nil), id...), uint64(v.ChallengeExpMS))
	tbs := append(append([]byte("sotto/v1 enrol challenge"), 0), idExp...)
	v.ChallengeTBS = hex.EncodeToString(tbs)
	challenge := append(idExp, ed25519.Sign(signPriv, tbs)...)
	v.Challenge = b64u.EncodeToString(challenge)
	rid := sha(append([]byte("sotto/v1 enrol challenge id\x00"), id...))
	v.RegisterID = hex.EncodeToString(rid[:16])
	if got, _, _ := enrol.ChallengeID(v.Challenge); hex.EncodeToString(got[:]) != v.RegisterID {
		t.Fatal("ChallengeID differs from the spelled-out register id")
	}
	v.ClientData = hex.EncodeToString(attest.ClientData(challenge, dev))
	cdh := attest.ClientDataHash(challenge, dev)
	v.ClientDataHash, v.RequestHash = hex.EncodeToString(cdh[:]), b64u.EncodeToString(cdh[:])
	body, _ := json.Marshal(enrol.Request{Challenge: v.Challenge, Platform: enrol.Software,
		Evidence: b64u.EncodeToString(attest.SoftwareEvidence(cdh)), AppVersion: "1.0"})
	v.EnrolBody = string(body)
	if v.EnrolSignature, err = device.Sign(devPriv, body); err != nil {
		t.Fatal(err)
	}
	v.Claims = enrol.Claims{Subject: enrol.Subject(dev), IssuedAt: 1796558460, Expires: 1796644860,
		ID: "RERERERERERERERE", Platform: enrol.Software, Environment: attest.Development, AppVersion: "1.0"}
	if v.CredentialJWS, err = enrol.SignClaims(heapSigner{signPriv}, v.Claims); err != nil {
		t.Fatal(err)
	}
	hdr, _ := b64u.DecodeString(strings.Split(v.CredentialJWS, ".")[0])
	v.ProtectedHeader = string(hdr)
	return v
}

// TestEnrolmentVectors regenerates the vectors, requires the file to be
// identical (-update rewrites it), and has a service under the vector's
// signing key accept the challenge and the credential.
func TestEnrolmentVectors(t *testing.T) {
	v := makeVectors(t)
	want, _ := json.MarshalIndent(v, "", " ")
	want = append(want, '\n')
	if *update {
		if err := os.WriteFile(vectorsPath, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(vectorsPath)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("testdata/enrolment-vectors.json is stale (err %v): go test ./crypto/device/enrol -run TestEnrolmentVectors -update", err)
	}
	c := &clock{time.UnixMilli(v.ChallengeExpMS - 60_000)}
	signer := heapSigner{ed25519.NewKeyFromSeed(bytes.Repeat([]byte{0x11}, 32))}
	s := enrol.New(enrol.Config{Signer: signer, Register: replay.NewMemoryClock(10, c.now), Software: true, TTL: 24 * time.Hour, Now: c.now})
	_, claims, err := s.Enrol(context.Background(), []byte(v.EnrolBody), v.Device, v.EnrolSignature)
	if err != nil || claims.Subject != v.Claims.Subject {
		t.Fatalf("vector enrolment: %+v, %v", claims, err)
	}
	dev, _ := device.ParseKey(v.Device)
	if err := s.Policy().Trusted(device.WithEnrolment(context.Background(), v.CredentialJWS), dev); err != nil {
		t.Fatalf("vector credential refused: %v", err)
	}
}
