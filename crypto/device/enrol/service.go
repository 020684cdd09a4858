package enrol

import (
	"context"
	"encoding/json"
	"time"

	"github.com/sottolabs/sotto/crypto/device"
	"github.com/sottolabs/sotto/crypto/device/attest"
	"github.com/sottolabs/sotto/crypto/replay"
)

// Config is what a Service verifies with. A nil verifier refuses its
// platform (ErrPlatform).
type Config struct {
	Signer   Signer
	Register replay.Register // single use of challenges
	Apple    *attest.AppAttest
	Play     *attest.PlayIntegrity
	// Software accepts the development software attester; the server's
	// configuration refuses it in production.
	Software bool
	// TTL is a credential's lifetime: the interval at which a device must
	// re-check (a new Play Integrity verdict, an App Attest assertion).
	TTL time.Duration
	// RecheckGrace is how long after expiry a credential may still be
	// renewed by an assertion; 0: DefaultRecheckGrace.
	RecheckGrace time.Duration
	Revoked      *Revocations
	Now          func() time.Time // nil: time.Now
}

// DefaultRecheckGrace bounds how stale a credential an assertion renews.
const DefaultRecheckGrace = 30 * 24 * time.Hour

// Service issues challenges and credentials. It is safe for concurrent
// use.
type Service struct {
	Config
	signer   Signer
	register replay.Register
}

// New returns a Service for cfg.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.RecheckGrace == 0 {
		cfg.RecheckGrace = DefaultRecheckGrace
	}
	return &Service{Config: cfg, signer: cfg.Signer, register: cfg.Register}
}

func (s *Service) now() time.Time { return s.Now() }

// Challenge issues a fresh challenge.
func (s *Service) Challenge() (ChallengeResponse, error) {
	c, exp, err := s.newChallenge()
	if err != nil {
		return ChallengeResponse{}, err
	}
	return ChallengeResponse{Challenge: b64u.EncodeToString(c), Expires: exp.UTC()}, nil
}

// Enrol checks an enrolment request, whose Sotto-Device and
// Sotto-Signature header values are deviceHeader and sigHeader, and
// issues a credential. Order: the device's signature of the body, the
// challenge (signature, expiry, single use), the evidence, revocation.
func (s *Service) Enrol(ctx context.Context, body []byte, deviceHeader, sigHeader string) (Response, Claims, error) {
	key, err := device.ParseKey(deviceHeader)
	if err != nil || key.Verify(body, sigHeader) != nil {
		return Response{}, Claims{}, ErrDevice
	}
	var req Request
	if err := json.Unmarshal(body, &req); err != nil || !validVersion(req.AppVersion) {
		return Response{}, Claims{}, wrap(ErrRequest, "body")
	}
	// On refusal the claims carry only the platform asked for (metrics).
	asked := Claims{Platform: req.Platform}
	if !s.enabled(req.Platform) {
		return Response{}, asked, ErrPlatform
	}
	challenge, err := s.redeem(ctx, req.Challenge)
	if err != nil {
		return Response{}, asked, err
	}
	cdh := attest.ClientDataHash(challenge, key)
	res, err := s.verify(req, key, cdh)
	if err != nil {
		return Response{}, asked, err
	}
	return s.credential(key, req, res)
}

// enabled reports whether platform has a verifier.
func (s *Service) enabled(platform string) bool {
	switch platform {
	case Apple:
		return s.Apple != nil
	case Android:
		return s.Play != nil
	case Software:
		return s.Software
	}
	return false
}

// credential issues the credential of a verified result, unless revoked.
func (s *Service) credential(key device.Key, req Request, res attest.Result) (Response, Claims, error) {
	now := s.now()
	c := Claims{
		Subject: Subject(key), IssuedAt: now.Unix(), Expires: now.Add(s.TTL).Unix(),
		Platform: res.Platform, Environment: res.Environment, AppVersion: req.AppVersion, Counter: res.Counter,
	}
	if res.AppVersion != "" {
		c.AppVersion = res.AppVersion
	}
	if res.AttestedKey != nil {
		c.AttestedKey = b64u.EncodeToString(res.AttestedKey)
	}
	if s.Revoked.Revoked(c) {
		return Response{}, c, ErrRevoked
	}
	tok, err := issue(s.signer, c)
	if err != nil {
		return Response{}, c, err
	}
	return Response{Credential: tok, Expires: time.Unix(c.Expires, 0).UTC()}, c, nil
}
