package attest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"slices"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// oidNonce is Apple's App Attest nonce extension of the credential
// certificate: SEQUENCE { [1] EXPLICIT OCTET STRING nonce }.
var oidNonce = asn1.ObjectIdentifier{1, 2, 840, 113635, 100, 8, 2}

// fmtAppAttest is the attestation format App Attest uses.
const fmtAppAttest = "apple-appattest"

// AppAttest verifies App Attest attestation objects and assertions for a
// set of apps. The zero value verifies nothing; set Roots to AppleRoots()
// in production (tests pass their own root).
type AppAttest struct {
	// AppIDs are the accepted App IDs, "<team ID>.<bundle ID>".
	AppIDs []string
	// Roots is the pool the credential certificate must chain to.
	Roots *x509.CertPool
	// AllowDevelopment accepts keys attested in the development
	// environment (apps signed for development); never in production.
	AllowDevelopment bool
	// Now is the clock certificates are checked at; nil: time.Now.
	Now func() time.Time
}

// attestationObject is the CBOR map App Attest returns from attestKey.
type attestationObject struct {
	Fmt     string `cbor:"fmt"`
	AttStmt struct {
		X5C     [][]byte `cbor:"x5c"`
		Receipt []byte   `cbor:"receipt"`
	} `cbor:"attStmt"`
	AuthData []byte `cbor:"authData"`
}

// decMode refuses duplicate map keys and indefinite lengths: one object,
// one reading.
var decMode = func() cbor.DecMode {
	m, err := cbor.DecOptions{DupMapKey: cbor.DupMapKeyEnforcedAPF, IndefLength: cbor.IndefLengthForbidden, MaxNestedLevels: 8}.DecMode()
	if err != nil {
		panic(err)
	}
	return m
}()

// VerifyAttestation checks an attestation object made by attestKey for the
// key keyID (SHA-256 of the attested public key) over clientDataHash,
// following Apple's "Validating apps that connect to your server".
func (v *AppAttest) VerifyAttestation(object, keyID []byte, clientDataHash [32]byte) (Result, error) {
	var obj attestationObject
	if err := decMode.Unmarshal(object, &obj); err != nil {
		return Result{}, fmt.Errorf("%w: attestation object", ErrFormat)
	}
	if obj.Fmt != fmtAppAttest || len(obj.AttStmt.X5C) < 2 {
		return Result{}, fmt.Errorf("%w: not an App Attest attestation", ErrFormat)
	}
	leaf, err := v.verifyChain(obj.AttStmt.X5C)
	if err != nil {
		return Result{}, err
	}
	nonce := sha256.Sum256(append(slices.Clip(obj.AuthData), clientDataHash[:]...))
	if got, err := certNonce(leaf); err != nil || !bytes.Equal(got, nonce[:]) {
		return Result{}, fmt.Errorf("%w: certificate nonce", ErrNonce)
	}
	pub, ok := leaf.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		return Result{}, fmt.Errorf("%w: credential key is not ECDSA", ErrKeyMismatch)
	}
	point, err := pub.Bytes()
	if err != nil {
		return Result{}, fmt.Errorf("%w: credential key", ErrKeyMismatch)
	}
	if id := sha256.Sum256(point); !bytes.Equal(id[:], keyID) {
		return Result{}, fmt.Errorf("%w: key id is not the key's SHA-256", ErrKeyMismatch)
	}
	ad, err := parseAuthData(obj.AuthData, true)
	if err != nil {
		return Result{}, err
	}
	env, err := v.checkAuthData(ad, keyID, 0)
	if err != nil {
		return Result{}, err
	}
	return Result{Platform: "apple", Environment: env, AttestedKey: point, Counter: ad.counter}, nil
}

// checkAuthData checks the App ID, the counter, the credential id and the
// environment of an attestation's authenticator data.
func (v *AppAttest) checkAuthData(ad authData, keyID []byte, counter uint32) (string, error) {
	if !v.appIDMatches(ad.rpIDHash) {
		return "", fmt.Errorf("%w: RP ID hash", ErrApp)
	}
	if ad.counter != counter {
		return "", fmt.Errorf("%w: attestation counter is not 0", ErrCounter)
	}
	if !ad.hasCred || !bytes.Equal(ad.credentialID, keyID) {
		return "", fmt.Errorf("%w: credential id", ErrKeyMismatch)
	}
	env, err := ad.environment()
	if err != nil {
		return "", err
	}
	if env == Development && !v.AllowDevelopment {
		return "", ErrEnvironment
	}
	return env, nil
}

func (v *AppAttest) appIDMatches(rpIDHash [32]byte) bool {
	for _, id := range v.AppIDs {
		if sha256.Sum256([]byte(id)) == rpIDHash {
			return true
		}
	}
	return false
}

// verifyChain parses x5c (leaf first) and verifies it to Roots.
func (v *AppAttest) verifyChain(x5c [][]byte) (*x509.Certificate, error) {
	if v.Roots == nil {
		return nil, fmt.Errorf("%w: no roots configured", ErrChain)
	}
	certs := make([]*x509.Certificate, len(x5c))
	for i, der := range x5c {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("%w: certificate %d", ErrFormat, i)
		}
		certs[i] = c
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	_, err := certs[0].Verify(x509.VerifyOptions{
		Roots: v.Roots, Intermediates: inter, CurrentTime: now(),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil {
		return nil, fmt.Errorf("%w: chain", ErrChain)
	}
	return certs[0], nil
}

// certNonce extracts the nonce of the App Attest extension.
func certNonce(c *x509.Certificate) ([]byte, error) {
	for _, ext := range c.Extensions {
		if !ext.Id.Equal(oidNonce) {
			continue
		}
		var seq struct {
			Nonce []byte `asn1:"tag:1,explicit"`
		}
		rest, err := asn1.Unmarshal(ext.Value, &seq)
		if err != nil || len(rest) != 0 {
			return nil, ErrFormat
		}
		return seq.Nonce, nil
	}
	return nil, ErrFormat
}
