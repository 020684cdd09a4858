package enrol

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"sync"
	"time"

	"github.com/sottolabs/sotto/crypto/device"
)

// Policy is the device policy "attested": a key is trusted while the
// request's enrolment credential (device.EnrolmentFrom) verifies under
// the signing key, names the key, is live, comes from an enabled
// platform and is not revoked.
type Policy struct {
	pub     func() ed25519.PublicKey
	enabled func(platform string) bool
	revoked *Revocations
	now     func() time.Time

	// verified caches the claims of credentials whose signature verified,
	// by SHA-256(signing key || credential): a device sends the same
	// credential with every request, and the EdDSA check and JSON parse
	// are most of the policy's cost. Expiry, subject and revocation are
	// still checked on every request.
	mu       sync.Mutex
	verified map[[32]byte]Claims
}

// maxVerified bounds the cache; when full it is emptied (entries are
// cheap to rebuild).
const maxVerified = 100_000

var _ device.Policy = (*Policy)(nil)

// Policy returns the service's device policy.
func (s *Service) Policy() *Policy {
	return &Policy{pub: s.signer.SigningPublicKey, enabled: s.enabled, revoked: s.Revoked, now: s.now,
		verified: map[[32]byte]Claims{}}
}

// Trusted implements device.Policy.
func (p *Policy) Trusted(ctx context.Context, key device.Key) error {
	c, err := p.claims(device.EnrolmentFrom(ctx), key)
	if err != nil {
		return fmt.Errorf("%w (%w)", device.ErrUntrusted, err)
	}
	switch {
	case !c.live(p.now()):
		return fmt.Errorf("%w (enrol: credential expired)", device.ErrUntrusted)
	case !p.enabled(c.Platform):
		return fmt.Errorf("%w (%w)", device.ErrUntrusted, ErrPlatform)
	case p.revoked.Revoked(c):
		return fmt.Errorf("%w (%w)", device.ErrUntrusted, ErrRevoked)
	}
	return nil
}

// claims returns the verified claims of token, from the cache when this
// signing key verified it before, and checks that they name key.
func (p *Policy) claims(token string, key device.Key) (Claims, error) {
	pub := p.pub()
	h := sha256.New()
	h.Write(pub)
	h.Write([]byte(token))
	var id [32]byte
	h.Sum(id[:0])
	p.mu.Lock()
	c, ok := p.verified[id]
	p.mu.Unlock()
	if !ok {
		var err error
		if c, err = parse(token, pub, key); err != nil {
			return Claims{}, err
		}
		p.mu.Lock()
		if len(p.verified) >= maxVerified {
			clear(p.verified)
		}
		p.verified[id] = c
		p.mu.Unlock()
	}
	if c.Subject != Subject(key) {
		return Claims{}, wrap(ErrCredential, "issued to another device key")
	}
	return c, nil
}

func expiresAt(c Claims) time.Time { return time.Unix(c.Expires, 0) }
