package device

import (
	"context"
	"errors"
	"log/slog"
)

// Policy decides whether a device key, whose signature already verified,
// may use the server. Trusted returns nil for a trusted key, an error
// wrapping ErrUntrusted for an untrusted one, and any other error when it
// cannot decide (the server then refuses the request too). Policies are
// safe for concurrent use.
type Policy interface {
	Trusted(ctx context.Context, key Key) error
}

// Attester is the seam for platform attestation (Apple App Attest, Google
// Play Integrity): it checks evidence that key was generated inside a
// genuine app on a genuine device. v1 ships no implementation. The
// intended use is an enrollment step that calls Verify once per key and
// records the key in an enrolled set (for example an AllowList), so that
// requests never carry attestation evidence. Implementations must not log
// the evidence, and must be safe for concurrent use.
type Attester interface {
	Verify(ctx context.Context, key Key, evidence []byte) error
}

// openPolicy trusts every key.
type openPolicy struct{}

var _ Policy = openPolicy{}

// NewOpenPolicy returns a Policy that trusts every device whose signature
// verifies. It is for development only and logs a warning saying so.
func NewOpenPolicy() Policy {
	slog.Warn("device: OPEN trust policy: every device key is accepted; use an allow-list in production")
	return openPolicy{}
}

func (openPolicy) Trusted(context.Context, Key) error { return nil }

// anyOf trusts a key that any of its policies trusts.
type anyOf []Policy

// AnyOf returns a Policy that trusts a key when one of policies does. It
// returns the first error that is not ErrUntrusted, else ErrUntrusted.
func AnyOf(policies ...Policy) Policy { return anyOf(policies) }

func (p anyOf) Trusted(ctx context.Context, key Key) error {
	for _, q := range p {
		err := q.Trusted(ctx, key)
		if err == nil {
			return nil
		}
		if !errors.Is(err, ErrUntrusted) {
			return err
		}
	}
	return ErrUntrusted
}

// allOf trusts a key that all of its policies trust.
type allOf []Policy

// AllOf returns a Policy that trusts a key only when every one of
// policies does (attested+allowlist: an enrolled device that is also
// listed). It returns the first refusal.
func AllOf(policies ...Policy) Policy { return allOf(policies) }

func (p allOf) Trusted(ctx context.Context, key Key) error {
	for _, q := range p {
		if err := q.Trusted(ctx, key); err != nil {
			return err
		}
	}
	return nil
}

// delegated trusts every key, leaving the decision to the workers.
type delegated struct{}

// NewDelegatedPolicy returns the policy of a router in front of workers
// that decide trust by enrolment credential (the attested policies): the
// router checks the signature and applies its per-device limits, but it
// holds no key directory to judge a credential with, so it passes every
// signed request on and each worker's policy refuses untrusted keys (401
// #device, relayed).
func NewDelegatedPolicy() Policy { return delegated{} }

func (delegated) Trusted(context.Context, Key) error { return nil }
