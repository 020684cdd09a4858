package crypto

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/sottolabs/sotto/crypto/pow"
)

// vecPoW is a proof-of-work vector (protocol section 6a): the challenge
// spelled from the document's formula, an answer, and the hash input and
// output that make it valid.
type vecPoW struct {
	Secret     string `json:"hmac_secret"`
	MACInput   string `json:"mac_input"`
	Challenge  string `json:"challenge"`
	BodySHA256 string `json:"body_sha256"`
	Nonce      string `json:"nonce"`
	Answer     string `json:"sotto_pow_header"`
	WorkInput  string `json:"work_input"`
	WorkHash   string `json:"work_sha256"`
	Bits       int    `json:"bits"`
	VerifiedAt int64  `json:"verified_at"`
}

// genPoW spells a challenge independently of package pow (HMAC over the
// text up to salt, the whole text with ;mac= hashed), finds the answer
// with pow.Solve and checks it with pow's Verify.
func genPoW(t *testing.T) vecPoW {
	secret := vecSeed("pow secret", 32)
	const bits, exp = 8, 1767225660
	head := "v1;bits=8;exp=1767225660;salt=" + b64(vecSeed("pow salt", 16))
	macIn := append([]byte("sotto/v1 pow challenge\x00"), head...)
	m := hmac.New(sha256.New, secret)
	m.Write(macIn)
	challenge := head + ";mac=" + b64(m.Sum(nil)[:16])
	body := sha256.Sum256([]byte("sotto/v1 pow vector body"))
	answer, err := pow.Solve(challenge, body)
	if err != nil {
		t.Fatal(err)
	}
	nonceText, _ := strings.CutPrefix(answer, challenge+";nonce=")
	nonce := vecUnb64(t, nonceText)
	in := append([]byte("sotto/v1 pow\x00"+challenge+"\x00"), nonce...)
	in = append(in, body[:]...)
	sum := sha256.Sum256(in)
	is, err := pow.NewIssuer(secret, bits, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Unix(exp-30, 0)
	if err := is.Verify(answer, body, at); err != nil {
		t.Fatalf("pow vector does not verify: %v", err)
	}
	if sum[0] != 0 {
		t.Fatalf("pow vector: work hash %x lacks %d zero bits", sum, bits)
	}
	return vecPoW{Secret: hx(secret), MACInput: hx(macIn), Challenge: challenge, BodySHA256: hx(body[:]),
		Nonce: hx(nonce), Answer: answer, WorkInput: hx(in), WorkHash: hx(sum[:]), Bits: bits, VerifiedAt: at.Unix()}
}

func vecUnb64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
