package attest

import (
	"crypto/ecdsa"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// PlayIntegrity verifies Play Integrity verdict tokens locally, with the
// response encryption and verification keys the operator downloads from
// the Play Console ("manage response encryption"): the token is a JWE
// (A256KW, A256GCM) around a JWS (ES256). No call to Google is made.
type PlayIntegrity struct {
	// PackageNames are the accepted application ids.
	PackageNames []string
	// CertDigests are the accepted signing certificate SHA-256 digests,
	// base64url without padding as Play reports them; empty accepts any.
	CertDigests []string
	// DecryptionKey is the 32-byte AES key of the JWE.
	DecryptionKey []byte
	// VerificationKey is the P-256 key of the JWS.
	VerificationKey *ecdsa.PublicKey
	// AllowDevelopment accepts apps Play does not recognise (sideloaded
	// debug builds: UNRECOGNIZED_VERSION), as environment development.
	AllowDevelopment bool
	// MaxAge bounds the verdict's age; 0: DefaultVerdictAge.
	MaxAge time.Duration
	// Now is the clock; nil: time.Now.
	Now func() time.Time
}

// DefaultVerdictAge is how old a verdict may be when it arrives.
const DefaultVerdictAge = 5 * time.Minute

// maxToken bounds the token before any parsing.
const maxToken = 16 << 10

// verdict is the part of the decoded payload Sotto reads.
type verdict struct {
	RequestDetails struct {
		RequestPackageName string `json:"requestPackageName"`
		RequestHash        string `json:"requestHash"`
		Nonce              string `json:"nonce"`
		TimestampMillis    string `json:"timestampMillis"`
	} `json:"requestDetails"`
	AppIntegrity struct {
		AppRecognitionVerdict   string   `json:"appRecognitionVerdict"`
		PackageName             string   `json:"packageName"`
		CertificateSha256Digest []string `json:"certificateSha256Digest"`
		VersionCode             string   `json:"versionCode"`
	} `json:"appIntegrity"`
	DeviceIntegrity struct {
		DeviceRecognitionVerdict []string `json:"deviceRecognitionVerdict"`
	} `json:"deviceIntegrity"`
}

// Verify decrypts and verifies token, then checks that it names an
// accepted app and signing certificate, that the device meets device
// integrity, that its requestHash (standard requests) or nonce (classic
// requests) is base64url(clientDataHash), and that it is fresh.
func (v *PlayIntegrity) Verify(token string, clientDataHash [32]byte) (Result, error) {
	payload, err := v.open(token)
	if err != nil {
		return Result{}, err
	}
	var vd verdict
	if err := json.Unmarshal(payload, &vd); err != nil {
		return Result{}, fmt.Errorf("%w: verdict payload", ErrFormat)
	}
	if err := v.checkBinding(vd, clientDataHash); err != nil {
		return Result{}, err
	}
	if err := v.checkApp(vd); err != nil {
		return Result{}, err
	}
	env, err := v.environment(vd)
	if err != nil {
		return Result{}, err
	}
	if !slices.Contains(vd.DeviceIntegrity.DeviceRecognitionVerdict, "MEETS_DEVICE_INTEGRITY") {
		return Result{}, fmt.Errorf("%w: device integrity", ErrVerdict)
	}
	return Result{Platform: "android", Environment: env, AppVersion: vd.AppIntegrity.VersionCode}, nil
}

// open decrypts the JWE and verifies the JWS inside it.
func (v *PlayIntegrity) open(token string) ([]byte, error) {
	if len(token) > maxToken {
		return nil, fmt.Errorf("%w: token too long", ErrFormat)
	}
	jwe, err := jose.ParseEncryptedCompact(token, []jose.KeyAlgorithm{jose.A256KW}, []jose.ContentEncryption{jose.A256GCM})
	if err != nil {
		return nil, fmt.Errorf("%w: token is not a JWE", ErrFormat)
	}
	inner, err := jwe.Decrypt(v.DecryptionKey)
	if err != nil {
		return nil, fmt.Errorf("%w: token does not decrypt", ErrChain)
	}
	jws, err := jose.ParseSignedCompact(string(inner), []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		return nil, fmt.Errorf("%w: inner token is not a JWS", ErrFormat)
	}
	payload, err := jws.Verify(v.VerificationKey)
	if err != nil {
		return nil, fmt.Errorf("%w: verdict signature", ErrChain)
	}
	return payload, nil
}

// checkBinding compares the request hash (or nonce) with clientDataHash
// and the verdict's time with the clock.
func (v *PlayIntegrity) checkBinding(vd verdict, clientDataHash [32]byte) error {
	want := base64.RawURLEncoding.EncodeToString(clientDataHash[:])
	got := vd.RequestDetails.RequestHash
	if got == "" {
		got = trimPad(vd.RequestDetails.Nonce)
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return fmt.Errorf("%w: request hash", ErrNonce)
	}
	ms, err := strconv.ParseInt(vd.RequestDetails.TimestampMillis, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: verdict time", ErrFormat)
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	maxAge := DefaultVerdictAge
	if v.MaxAge > 0 {
		maxAge = v.MaxAge
	}
	age := now().Sub(time.UnixMilli(ms))
	if age > maxAge || age < -time.Minute {
		return ErrStale
	}
	return nil
}

// trimPad accepts a classic-request nonce with or without padding.
func trimPad(s string) string {
	for len(s) > 0 && s[len(s)-1] == '=' {
		s = s[:len(s)-1]
	}
	return s
}

// checkApp checks the package name (asked for and recognised) and the
// signing certificate.
func (v *PlayIntegrity) checkApp(vd verdict) error {
	pkg := vd.RequestDetails.RequestPackageName
	if !slices.Contains(v.PackageNames, pkg) {
		return fmt.Errorf("%w: package name", ErrApp)
	}
	if ap := vd.AppIntegrity.PackageName; ap != "" && ap != pkg {
		return fmt.Errorf("%w: package name", ErrApp)
	}
	if len(v.CertDigests) == 0 {
		return nil
	}
	for _, d := range vd.AppIntegrity.CertificateSha256Digest {
		if slices.Contains(v.CertDigests, trimPad(d)) {
			return nil
		}
	}
	return fmt.Errorf("%w: signing certificate", ErrApp)
}

// environment maps the app recognition verdict: PLAY_RECOGNIZED is
// production; UNRECOGNIZED_VERSION development, when allowed.
func (v *PlayIntegrity) environment(vd verdict) (string, error) {
	switch vd.AppIntegrity.AppRecognitionVerdict {
	case "PLAY_RECOGNIZED":
		return Production, nil
	case "UNRECOGNIZED_VERSION":
		if v.AllowDevelopment {
			return Development, nil
		}
		return "", ErrEnvironment
	}
	return "", fmt.Errorf("%w: app recognition", ErrVerdict)
}
