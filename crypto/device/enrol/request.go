package enrol

import (
	"time"
)

// Request is the body of POST /api/enroll (application/json), signed like
// a chat request: Sotto-Device names the device key and Sotto-Signature
// signs the body, proving the device holds the key it enrols.
type Request struct {
	Challenge string `json:"challenge"` // from POST /api/enroll/challenge
	Platform  string `json:"platform"`  // apple, android or software
	// App Attest, first enrolment: the key id (base64url of the raw
	// 32-byte id) and the attestation object (base64url CBOR).
	KeyID       string `json:"key_id,omitempty"`
	Attestation string `json:"attestation,omitempty"`
	// App Attest, re-check: an assertion (base64url CBOR) and the
	// credential it renews (which may have expired).
	Assertion  string `json:"assertion,omitempty"`
	Credential string `json:"credential,omitempty"`
	// Play Integrity: the verdict token as the app received it.
	Token string `json:"token,omitempty"`
	// Software attester (development only): base64url(clientDataHash).
	Evidence string `json:"evidence,omitempty"`
	// AppVersion is the app's own version (App Attest does not state
	// one; Play Integrity's versionCode replaces it).
	AppVersion string `json:"app_version,omitempty"`
}

// Response is the answer of POST /api/enroll.
type Response struct {
	Credential string    `json:"credential"`
	Expires    time.Time `json:"expires"`
}

// ChallengeResponse is the answer of POST /api/enroll/challenge.
type ChallengeResponse struct {
	Challenge string    `json:"challenge"`
	Expires   time.Time `json:"expires"`
}

// maxVersion bounds an app version; versions use [0-9A-Za-z.+_-].
const maxVersion = 64

func validVersion(v string) bool {
	if len(v) > maxVersion {
		return false
	}
	for _, c := range v {
		ok := c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '.' || c == '+' || c == '_' || c == '-'
		if !ok {
			return false
		}
	}
	return true
}
