package enrol

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"time"

	"github.com/sottolabs/sotto/crypto/replay"
)

// ChallengeTTL is how long a challenge may be redeemed after it is issued:
// long enough for an attestation round trip to Apple or Google.
const ChallengeTTL = 5 * time.Minute

// challengeLabel starts a challenge's signed bytes; a 0x00 byte follows.
const challengeLabel = "sotto/v1 enrol challenge"

// challengeLen is id(16) || expires(8, Unix ms) || Ed25519 signature(64).
const challengeLen = 16 + 8 + ed25519.SignatureSize

var b64u = base64.RawURLEncoding.Strict()

func challengeTBS(idExp []byte) []byte {
	return append(append([]byte(challengeLabel), 0), idExp...)
}

// newChallenge returns a signed challenge and its expiry. It is stateless
// until redeemed: any server with the same signing key accepts it.
func (s *Service) newChallenge() ([]byte, time.Time, error) {
	exp := s.now().Add(ChallengeTTL).Truncate(time.Millisecond)
	c := make([]byte, 16, challengeLen)
	_, _ = rand.Read(c) // crypto/rand.Read never fails (Go 1.24+)
	c = binary.BigEndian.AppendUint64(c, uint64(exp.UnixMilli()))
	sig, err := s.signer.SignOther(challengeTBS(c))
	if err != nil {
		return nil, time.Time{}, err
	}
	return append(c, sig...), exp, nil
}

// redeem checks a challenge's signature and expiry and registers its id,
// so that it is accepted once; it returns the challenge's bytes.
func (s *Service) redeem(ctx context.Context, enc string) ([]byte, error) {
	c, err := b64u.DecodeString(enc)
	if err != nil || len(c) != challengeLen {
		return nil, wrap(ErrChallenge, "malformed")
	}
	if !ed25519.Verify(s.signer.SigningPublicKey(), challengeTBS(c[:24]), c[24:]) {
		return nil, wrap(ErrChallenge, "signature")
	}
	id, exp, _ := ChallengeID(enc)
	if !s.now().Before(exp) {
		return nil, ErrChallengeExpired
	}
	if err := Claim(ctx, s.register, id, exp); err != nil {
		return nil, err
	}
	return c, nil
}

// registerLabel separates challenge entries from request ids in a shared
// register.
const registerLabel = "sotto/v1 enrol challenge id"

// ChallengeID reads the register entry of an encoded challenge without
// verifying it: the key under which it is registered as used (a hash of
// its id, apart from request ids) and its stated expiry. A router,
// which holds no key directory, claims it with these before relaying
// the enrolment; ok is false for a challenge that does not parse.
func ChallengeID(enc string) (id [16]byte, expires time.Time, ok bool) {
	c, err := b64u.DecodeString(enc)
	if err != nil || len(c) != challengeLen {
		return id, time.Time{}, false
	}
	sum := sha256.Sum256(append([]byte(registerLabel+"\x00"), c[:16]...))
	copy(id[:], sum[:16])
	return id, time.UnixMilli(int64(binary.BigEndian.Uint64(c[16:24]))), true
}

// Claim registers a challenge's id in reg until expires: the first claim
// succeeds, a second is ErrChallengeUsed.
func Claim(ctx context.Context, reg replay.Register, id [16]byte, expires time.Time) error {
	switch err := reg.Add(ctx, id, expires); {
	case errors.Is(err, replay.ErrReplay):
		return ErrChallengeUsed
	case errors.Is(err, replay.ErrExpired):
		return ErrChallengeExpired
	case errors.Is(err, replay.ErrFull):
		return ErrFull
	case err != nil:
		return err
	}
	return nil
}
