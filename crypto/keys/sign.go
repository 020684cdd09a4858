package keys

import (
	"bytes"
	"errors"
	"fmt"

	circled25519 "github.com/cloudflare/circl/sign/ed25519"
)

// keyConfigLabel starts every key configuration's signed bytes
// (keyconfig.Document.TBS).
const keyConfigLabel = "sotto/v1 key config"

// ErrKeyConfigMessage is returned by SignOther for a message that could
// pass for a key configuration.
var ErrKeyConfigMessage = errors.New("keys: message has the key configuration's label")

// SignOther signs msg with the signing key for a use other than the key
// configuration: enrolment challenges and credentials (docs/enrolment.md),
// which every server holding the same key directory then accepts. A msg
// starting with the key configuration's label is refused, so nothing
// signed here can pass for a key configuration. The key is opened into
// locked memory for the one signature (circl: see keyconfig.Sign).
func (s *Store) SignOther(msg []byte) ([]byte, error) {
	if bytes.HasPrefix(msg, []byte(keyConfigLabel)) {
		return nil, ErrKeyConfigMessage
	}
	s.mu.RLock()
	enc := s.signing
	s.mu.RUnlock()
	if enc == nil {
		return nil, ErrClosed
	}
	priv, err := s.budget.Open(enc)
	if err != nil {
		return nil, fmt.Errorf("keys: signing key: %w", err)
	}
	defer priv.Destroy()
	return circled25519.Sign(circled25519.PrivateKey(priv.Bytes()), msg), nil
}
