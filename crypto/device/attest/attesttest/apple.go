// Package attesttest makes attestation evidence in the real formats for
// tests: App Attest attestation objects and assertions under a test root
// that stands in for Apple's, and Play Integrity tokens under test keys
// that stand in for Google's. Verifiers take these roots and keys through
// the same fields as the pinned ones. Nothing here is for production.
package attesttest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"math/big"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// AppleCA is a test App Attest CA: a P-384 root and intermediate, like
// Apple's.
type AppleCA struct {
	Roots     *x509.CertPool
	root      *x509.Certificate
	inter     *x509.Certificate
	interKey  *ecdsa.PrivateKey
	notBefore time.Time
}

// NewAppleCA makes a root and intermediate valid around now.
func NewAppleCA(now time.Time) *AppleCA {
	rootKey := must(ecdsa.GenerateKey(elliptic.P384(), rand.Reader))
	interKey := must(ecdsa.GenerateKey(elliptic.P384(), rand.Reader))
	nb := now.Add(-time.Hour)
	root := certify(&x509.Certificate{Subject: pkix.Name{CommonName: "Test App Attestation Root CA"}, IsCA: true},
		nb, nil, rootKey, &rootKey.PublicKey)
	inter := certify(&x509.Certificate{Subject: pkix.Name{CommonName: "Test App Attestation CA 1"}, IsCA: true},
		nb, root, rootKey, &interKey.PublicKey)
	pool := x509.NewCertPool()
	pool.AddCert(root)
	return &AppleCA{Roots: pool, root: root, inter: inter, interKey: interKey, notBefore: nb}
}

// Attestation describes the object to make; the zero values are those
// of a genuine production attestation.
type Attestation struct {
	AppID       string
	Development bool
	Counter     uint32 // must be 0 in a genuine attestation
	// WrongKeyID puts another key's id in the authenticator data.
	WrongKeyID bool
}

// Attest makes an attestation object over clientDataHash for a fresh
// P-256 key; it returns the object, the key id (SHA-256 of the public
// point) and the key for later assertions.
func (ca *AppleCA) Attest(a Attestation, clientDataHash [32]byte) ([]byte, []byte, *ecdsa.PrivateKey) {
	key := must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
	point := must(key.PublicKey.Bytes())
	keyID := sha256.Sum256(point)
	credID := keyID[:]
	if a.WrongKeyID {
		other := sha256.Sum256(keyID[:])
		credID = other[:]
	}
	aaguid := []byte("appattest\x00\x00\x00\x00\x00\x00\x00")
	if a.Development {
		aaguid = []byte("appattestdevelop")
	}
	ad := authData(a.AppID, 0x40|0x01, a.Counter)
	ad = append(ad, aaguid...)
	ad = binary.BigEndian.AppendUint16(ad, uint16(len(credID)))
	ad = append(ad, credID...)
	ad = append(ad, coseKey(point)...)
	nonce := sha256.Sum256(append(append([]byte(nil), ad...), clientDataHash[:]...))
	ext := must(asn1.Marshal(struct {
		Nonce []byte `asn1:"tag:1,explicit"`
	}{nonce[:]}))
	leaf := certify(&x509.Certificate{
		Subject:         pkix.Name{CommonName: "test credential"},
		ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 2, 840, 113635, 100, 8, 2}, Value: ext}},
	}, ca.notBefore, ca.inter, ca.interKey, &key.PublicKey)
	obj := must(cbor.Marshal(map[string]any{
		"fmt":      "apple-appattest",
		"attStmt":  map[string]any{"x5c": [][]byte{leaf.Raw, ca.inter.Raw}, "receipt": []byte("test receipt")},
		"authData": ad,
	}))
	return obj, keyID[:], key
}

// Assert makes an assertion by key over clientDataHash with counter.
func Assert(key *ecdsa.PrivateKey, appID string, counter uint32, clientDataHash [32]byte) []byte {
	ad := authData(appID, 0x01, counter)
	nonce := sha256.Sum256(append(append([]byte(nil), ad...), clientDataHash[:]...))
	digest := sha256.Sum256(nonce[:])
	sig := must(ecdsa.SignASN1(rand.Reader, key, digest[:]))
	return must(cbor.Marshal(map[string]any{"signature": sig, "authenticatorData": ad}))
}

func authData(appID string, flags byte, counter uint32) []byte {
	rp := sha256.Sum256([]byte(appID))
	ad := append(rp[:], flags)
	return binary.BigEndian.AppendUint32(ad, counter)
}

// coseKey is the EC2 P-256 COSE_Key of an uncompressed point.
func coseKey(point []byte) []byte {
	return must(cbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: point[1:33], -3: point[33:]}))
}

var serial int64

func certify(tmpl *x509.Certificate, nb time.Time, parent *x509.Certificate, signer *ecdsa.PrivateKey, pub *ecdsa.PublicKey) *x509.Certificate {
	serial++
	tmpl.SerialNumber = big.NewInt(serial)
	tmpl.NotBefore, tmpl.NotAfter = nb, nb.Add(48*time.Hour)
	if tmpl.IsCA {
		tmpl.BasicConstraintsValid = true
		tmpl.KeyUsage = x509.KeyUsageCertSign
	}
	if parent == nil {
		parent = tmpl
	}
	return must(x509.ParseCertificate(must(x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer))))
}

func must[T any](v T, err error) T {
	if err != nil {
		panic("attesttest: " + err.Error())
	}
	return v
}
