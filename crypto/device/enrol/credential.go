package enrol

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/sottolabs/sotto/crypto/device"
)

// CredentialType is the JWS typ header of an enrolment credential.
const CredentialType = "sotto-enrolment+jwt"

// maxCredential bounds a credential before any parsing.
const maxCredential = 4 << 10

// Claims are an enrolment credential's payload (docs/protocol.md 6b).
type Claims struct {
	Subject     string `json:"sub"` // base64url SHA-256 of the Sotto-Device value
	IssuedAt    int64  `json:"iat"` // Unix seconds
	Expires     int64  `json:"exp"` // Unix seconds
	ID          string `json:"jti"` // random, for revocation and audit
	Platform    string `json:"plat"`
	Environment string `json:"env"`
	AppVersion  string `json:"ver,omitempty"`
	// AttestedKey (App Attest: the uncompressed P-256 point, base64url)
	// and Counter let a later assertion re-check the device without a new
	// attestation.
	AttestedKey string `json:"ak,omitempty"`
	Counter     uint32 `json:"ctr,omitempty"`
}

// Subject returns the credential subject of key.
func Subject(key device.Key) string {
	sum := sha256.Sum256([]byte(key.String()))
	return b64u.EncodeToString(sum[:])
}

// opaque signs JWS with the key directory's signing key, which never
// leaves locked memory (go-jose calls SignPayload with the signing input).
type opaque struct{ s Signer }

func (o opaque) Public() *jose.JSONWebKey {
	return &jose.JSONWebKey{Key: o.s.SigningPublicKey(), Algorithm: string(jose.EdDSA)}
}
func (o opaque) Algs() []jose.SignatureAlgorithm { return []jose.SignatureAlgorithm{jose.EdDSA} }
func (o opaque) SignPayload(payload []byte, _ jose.SignatureAlgorithm) ([]byte, error) {
	return o.s.SignOther(payload)
}

// issue gives claims a random id and signs them.
func issue(s Signer, c Claims) (string, error) {
	id := make([]byte, 12)
	_, _ = rand.Read(id)
	c.ID = b64u.EncodeToString(id)
	return SignClaims(s, c)
}

// SignClaims signs c as they are into a compact JWS (EdDSA, typ
// CredentialType): the protocol's credential (section 6b; the vectors
// use it with fixed claims).
func SignClaims(s Signer, c Claims) (string, error) {
	payload, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("enrol: %w", err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: opaque{s}},
		(&jose.SignerOptions{}).WithType(CredentialType))
	if err != nil {
		return "", fmt.Errorf("enrol: %w", err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("enrol: %w", err)
	}
	return jws.CompactSerialize()
}

// parse verifies a credential's signature under pub and that it names
// key; it does not check expiry (callers do, with their own rule).
func parse(token string, pub ed25519.PublicKey, key device.Key) (Claims, error) {
	if token == "" || len(token) > maxCredential {
		return Claims{}, wrap(ErrCredential, "missing or too long")
	}
	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil || len(jws.Signatures) != 1 {
		return Claims{}, wrap(ErrCredential, "not a JWS")
	}
	if typ, _ := jws.Signatures[0].Protected.ExtraHeaders[jose.HeaderType].(string); typ != CredentialType {
		return Claims{}, wrap(ErrCredential, "type")
	}
	payload, err := jws.Verify(pub)
	if err != nil {
		return Claims{}, wrap(ErrCredential, "signature")
	}
	var c Claims
	if err := json.Unmarshal(payload, &c); err != nil {
		return Claims{}, wrap(ErrCredential, "payload")
	}
	if c.Subject != Subject(key) {
		return Claims{}, wrap(ErrCredential, "issued to another device key")
	}
	return c, nil
}

// live reports whether c is within its validity at now.
func (c Claims) live(now time.Time) bool {
	return now.Unix() >= c.IssuedAt-60 && now.Unix() < c.Expires
}
