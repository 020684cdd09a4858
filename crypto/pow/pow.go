// Package pow implements the protocol's stateless proof of work
// (docs/protocol.md section 6a). When the server wants a client to pay
// before it serves a request, it answers 429 #pow with a challenge signed
// with its secret (Issuer.Issue); the client finds a nonce binding the
// challenge to the body it will send (Solve) and retries with the answer
// in the Sotto-PoW header, which the server checks without any state
// (Issuer.Verify). The work is bound to the body and the body's rid is
// single-use (package replay), so one solution buys one request.
//
//	challenge = "v1;bits=<n>;exp=<unix seconds>;salt=<b64u 16 bytes>;mac=<b64u 16 bytes>"
//	mac       = HMAC-SHA256(secret, "sotto/v1 pow challenge" || 0x00 || challenge up to salt)[0:16]
//	answer    = challenge ";nonce=<b64u 8..32 bytes>"
//	valid when SHA-256("sotto/v1 pow" || 0x00 || challenge || 0x00 || nonce || SHA-256(body))
//	           starts with bits zero bits and now < exp
//
// In the hash, challenge is the whole challenge text (mac included) and
// nonce is the decoded nonce bytes.
package pow

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"time"

	"github.com/sottolabs/sotto/internal/locked"
)

// Errors of Verify and Solve (429 #pow). None quotes the header.
var (
	ErrMalformed = errors.New("pow: malformed challenge or answer")
	ErrExpired   = errors.New("pow: challenge expired")
	ErrMAC       = errors.New("pow: challenge not issued by this server")
	ErrWork      = errors.New("pow: not enough work")
	ErrBits      = errors.New("pow: challenge asks for fewer bits than required")
)

// Limits of the parameters.
const (
	MaxBits      = 32 // beyond this a phone cannot answer in time
	MinNonceSize = 8
	MaxNonceSize = 32
	MinSecret    = 16
	saltSize     = 16
	macSize      = 16
	macLabel     = "sotto/v1 pow challenge"
	workLabel    = "sotto/v1 pow"
)

var b64u = base64.RawURLEncoding.Strict()

// Issuer issues and verifies challenges. It is safe for concurrent use.
type Issuer struct {
	secret []byte          // in place (NewIssuer), or
	sealed *locked.Enclave // opened into budget for each MAC (Seal)
	budget *locked.Budget
	bits   int
	ttl    time.Duration
}

// NewIssuer returns an Issuer of challenges asking for bits leading zero
// bits (1..MaxBits) and valid for ttl (at least one second). secret (at
// least MinSecret bytes, shared by all nodes) is used in place: it may
// live in locked memory and must stay unchanged while the Issuer is used.
func NewIssuer(secret []byte, bits int, ttl time.Duration) (*Issuer, error) {
	switch {
	case len(secret) < MinSecret:
		return nil, fmt.Errorf("pow: secret must be at least %d bytes", MinSecret)
	case bits < 1 || bits > MaxBits:
		return nil, fmt.Errorf("pow: bits must be 1..%d", MaxBits)
	case ttl < time.Second:
		return nil, errors.New("pow: ttl must be at least one second")
	}
	return &Issuer{secret: secret, bits: bits, ttl: ttl}, nil
}

// Seal moves the issuer's secret into an enclave (encrypted in memory),
// wiping the slice given to NewIssuer: from then on each MAC opens it into
// a locked buffer charged to budget and destroys that buffer at once, and
// Issue and Verify fail with an error wrapping locked.ErrExhausted when
// the budget is full. Call it once, before the issuer is shared.
func (i *Issuer) Seal(budget *locked.Budget) {
	i.sealed, i.budget = locked.SealBytes(i.secret), budget
	i.secret = nil
}

// Bits returns the number of zero bits the Issuer asks for.
func (i *Issuer) Bits() int { return i.bits }

// Issue returns a new challenge, valid until now + ttl. It fails only
// for a sealed secret that cannot be opened (locked budget full).
func (i *Issuer) Issue(now time.Time) (string, error) {
	salt := make([]byte, saltSize)
	_, _ = rand.Read(salt) // crypto/rand.Read never fails (Go 1.24+)
	head := fmt.Sprintf("v1;bits=%d;exp=%d;salt=%s", i.bits, now.Add(i.ttl).Unix(), b64u.EncodeToString(salt))
	mac, err := i.mac(head)
	if err != nil {
		return "", err
	}
	return head + ";mac=" + b64u.EncodeToString(mac), nil
}

func (i *Issuer) mac(head string) ([]byte, error) {
	secret := i.secret
	if i.sealed != nil {
		buf, err := i.budget.Open(i.sealed)
		if err != nil {
			return nil, fmt.Errorf("pow: secret: %w", err)
		}
		defer buf.Destroy()
		secret = buf.Bytes()
	}
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(macLabel))
	m.Write([]byte{0})
	m.Write([]byte(head))
	return m.Sum(nil)[:macSize], nil
}

// Verify checks a Sotto-PoW header value for the body whose SHA-256 is
// bodySHA256: form, mac, expiry (valid while now < exp), bits (at least
// the Issuer's) and work.
func (i *Issuer) Verify(header string, bodySHA256 [32]byte, now time.Time) error {
	challenge, nonce, ok := strings.Cut(header, ";nonce=")
	if !ok {
		return ErrMalformed
	}
	c, err := parse(challenge)
	if err != nil {
		return err
	}
	n, err := b64u.DecodeString(nonce)
	if err != nil || len(n) < MinNonceSize || len(n) > MaxNonceSize {
		return ErrMalformed
	}
	mac, err := i.mac(c.head)
	if err != nil {
		return err
	}
	if !hmac.Equal(mac, c.mac) {
		return ErrMAC
	}
	if now.Unix() >= c.exp {
		return ErrExpired
	}
	if c.bits < i.bits {
		return ErrBits
	}
	if zeroBits(work(challenge, n, bodySHA256)) < c.bits {
		return ErrWork
	}
	return nil
}

// challenge is a parsed challenge.
type challenge struct {
	head string // up to and including salt=...
	bits int
	exp  int64
	mac  []byte
}

// parse checks the challenge's exact form.
func parse(s string) (challenge, error) {
	var c challenge
	f := strings.Split(s, ";")
	if len(f) != 5 || f[0] != "v1" {
		return c, ErrMalformed
	}
	bitsText, ok1 := strings.CutPrefix(f[1], "bits=")
	expText, ok2 := strings.CutPrefix(f[2], "exp=")
	saltText, ok3 := strings.CutPrefix(f[3], "salt=")
	macText, ok4 := strings.CutPrefix(f[4], "mac=")
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return c, ErrMalformed
	}
	var err error
	if c.bits, err = decimal(bitsText, MaxBits); err != nil || c.bits < 1 {
		return c, ErrMalformed
	}
	exp, err := decimal(expText, 1<<62)
	if err != nil {
		return c, ErrMalformed
	}
	c.exp = int64(exp)
	salt, err := b64u.DecodeString(saltText)
	if err != nil || len(salt) != saltSize {
		return c, ErrMalformed
	}
	if c.mac, err = b64u.DecodeString(macText); err != nil || len(c.mac) != macSize {
		return c, ErrMalformed
	}
	c.head = strings.Join(f[:4], ";")
	return c, nil
}

// decimal parses a canonical non-negative decimal no larger than max.
func decimal(s string, max int) (int, error) {
	n, err := strconv.ParseUint(s, 10, 63)
	if err != nil || n > uint64(max) || (len(s) > 1 && s[0] == '0') {
		return 0, ErrMalformed
	}
	return int(n), nil
}

// work returns SHA-256(workLabel || 0x00 || challenge || 0x00 || nonce || bodySHA256).
func work(challenge string, nonce []byte, bodySHA256 [32]byte) [32]byte {
	return sha256.Sum256(workInput(challenge, nonce, bodySHA256))
}

func workInput(challenge string, nonce []byte, bodySHA256 [32]byte) []byte {
	b := make([]byte, 0, len(workLabel)+2+len(challenge)+len(nonce)+32)
	b = append(b, workLabel...)
	b = append(b, 0)
	b = append(b, challenge...)
	b = append(b, 0)
	b = append(b, nonce...)
	return append(b, bodySHA256[:]...)
}

// zeroBits counts the leading zero bits of h.
func zeroBits(h [32]byte) int {
	n := 0
	for _, b := range h {
		if b != 0 {
			return n + bits.LeadingZeros8(b)
		}
		n += 8
	}
	return n
}
