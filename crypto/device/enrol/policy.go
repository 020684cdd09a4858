package enrol

import (
	"context"
	"crypto/ed25519"
	"fmt"
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
}

var _ device.Policy = (*Policy)(nil)

// Policy returns the service's device policy.
func (s *Service) Policy() *Policy {
	return &Policy{pub: s.signer.SigningPublicKey, enabled: s.enabled, revoked: s.Revoked, now: s.now}
}

// Trusted implements device.Policy.
func (p *Policy) Trusted(ctx context.Context, key device.Key) error {
	c, err := parse(device.EnrolmentFrom(ctx), p.pub(), key)
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

func expiresAt(c Claims) time.Time { return time.Unix(c.Expires, 0) }
