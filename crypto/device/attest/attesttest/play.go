package attesttest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Play holds test stand-ins of the keys the Play Console gives an
// operator: the AES key of the JWE and the P-256 key of the JWS.
type Play struct {
	DecryptionKey   []byte
	VerificationKey *ecdsa.PublicKey
	signing         *ecdsa.PrivateKey
}

// NewPlay makes fresh keys.
func NewPlay() *Play {
	k := must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader))
	aes := make([]byte, 32)
	_, _ = rand.Read(aes)
	return &Play{DecryptionKey: aes, VerificationKey: &k.PublicKey, signing: k}
}

// Verdict is the content of a token; NewVerdict fills a passing one.
type Verdict struct {
	Package, RequestHash, Recognition, VersionCode string
	CertDigest                                     string
	DeviceVerdicts                                 []string
	Time                                           time.Time
}

// NewVerdict is a passing verdict for pkg over clientDataHash at now.
func NewVerdict(pkg string, clientDataHash [32]byte, certDigest string, now time.Time) Verdict {
	return Verdict{Package: pkg, RequestHash: base64.RawURLEncoding.EncodeToString(clientDataHash[:]),
		Recognition: "PLAY_RECOGNIZED", VersionCode: "42", CertDigest: certDigest,
		DeviceVerdicts: []string{"MEETS_DEVICE_INTEGRITY"}, Time: now}
}

// Token signs (ES256) and encrypts (A256KW, A256GCM) v as Google does.
func (p *Play) Token(v Verdict) string {
	payload := must(json.Marshal(map[string]any{
		"requestDetails": map[string]any{"requestPackageName": v.Package, "requestHash": v.RequestHash,
			"timestampMillis": strconv.FormatInt(v.Time.UnixMilli(), 10)},
		"appIntegrity": map[string]any{"appRecognitionVerdict": v.Recognition, "packageName": v.Package,
			"certificateSha256Digest": []string{v.CertDigest}, "versionCode": v.VersionCode},
		"deviceIntegrity": map[string]any{"deviceRecognitionVerdict": v.DeviceVerdicts},
	}))
	return p.Seal(payload)
}

// Seal signs and encrypts an arbitrary payload.
func (p *Play) Seal(payload []byte) string {
	signer := must(jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: p.signing}, nil))
	jws := must(must(signer.Sign(payload)).CompactSerialize())
	enc := must(jose.NewEncrypter(jose.A256GCM, jose.Recipient{Algorithm: jose.A256KW, Key: p.DecryptionKey}, nil))
	return must(must(enc.Encrypt([]byte(jws))).CompactSerialize())
}
