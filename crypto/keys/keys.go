// Package keys manages the server's key directory: the HPKE key pairs
// requests are sealed to and the Ed25519 key that signs the published key
// configuration (docs/keys.md).
//
// A Store loads the directory once and answers the two questions of the
// request path: which private key opens a request (Lookup), and which
// signed key configuration to publish (Document). Private keys are held
// encrypted in memory (locked.Enclave, memguard) and decrypted into locked
// memory only for one use: a request's Open, a document's signature. Init and Rotate change the
// directory; a running Store picks the change up on Reload (SIGHUP) or
// through Watch.
//
// Key states are derived from time alone: a key is next before its
// not_before, current from not_before until not_after (exclusive), and
// retired afterwards. Rotate moves the times so that a next key becomes
// current at once and older current keys retire after Schedule.Overlap.
package keys

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/sottolabs/sotto/crypto"
	"github.com/sottolabs/sotto/crypto/keyconfig"
	"github.com/sottolabs/sotto/internal/locked"
	"github.com/sottolabs/sotto/internal/secretfile"
)

// Errors of the request path. The server answers all three with 422 #key
// and the signed key configuration.
var (
	ErrUnknownKey    = errors.New("keys: unknown key_id")
	ErrSuiteMismatch = errors.New("keys: key_id belongs to another suite")
	ErrKeyExpired    = errors.New("keys: key outside its validity period")
)

// Errors of the key directory. Messages name file paths, never content.
var (
	// ErrPermissions is returned for a key directory or key file that is
	// accessible to the group or others, not owned by the current user, or
	// not a plain directory or file.
	ErrPermissions = secretfile.ErrPermissions
	// ErrFormat is returned for a key file that is not in the format of
	// docs/keys.md.
	ErrFormat = errors.New("keys: malformed key file")
	// ErrKeyIDReuse is returned when a key_id names a different key within
	// Schedule.ReuseWindow of the previous key's not_after.
	ErrKeyIDReuse = errors.New("keys: key_id reused within the reuse window")
	// ErrNoKeys is returned when the directory holds no signing key, no
	// HPKE key, or no key to publish.
	ErrNoKeys = errors.New("keys: no usable keys")
	// ErrExists is returned by Init for a directory that already holds keys.
	ErrExists = errors.New("keys: key directory already initialized")
	// ErrClosed is returned by a Store after Close.
	ErrClosed = errors.New("keys: store closed")
)

// State is a key's place in its life: next, current, retired.
type State uint8

// The key states.
const (
	StateNext State = iota + 1
	StateCurrent
	StateRetired
)

// String returns "next", "current" or "retired".
func (s State) String() string {
	switch s {
	case StateNext:
		return "next"
	case StateCurrent:
		return "current"
	case StateRetired:
		return "retired"
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// stateAt derives the state of a key valid over [notBefore, notAfter).
func stateAt(notBefore, notAfter, now time.Time) State {
	switch {
	case now.Before(notBefore):
		return StateNext
	case now.Before(notAfter):
		return StateCurrent
	}
	return StateRetired
}

// Key is one HPKE key pair of the store. Its fields never change, except
// that its seed is dropped once the key retires; a Reload that moves a
// key's times makes a new Key with its own copy of the seed.
type Key struct {
	id        uint8
	suite     crypto.Suite
	pub       []byte
	notBefore time.Time
	notAfter  time.Time
	seed      atomic.Pointer[locked.Enclave] // nil once retired
	budget    *locked.Budget
}

// ID returns the key's one-byte key_id.
func (k *Key) ID() uint8 { return k.id }

// Suite returns the key's HPKE suite.
func (k *Key) Suite() crypto.Suite { return k.suite }

// PublicKey returns the key's public key. The caller must not modify it.
func (k *Key) PublicKey() []byte { return k.pub }

// NotBefore returns the start of the key's validity (inclusive).
func (k *Key) NotBefore() time.Time { return k.notBefore }

// NotAfter returns the end of the key's validity (exclusive).
func (k *Key) NotAfter() time.Time { return k.notAfter }

// State returns the key's state at now.
func (k *Key) State(now time.Time) State { return stateAt(k.notBefore, k.notAfter, now) }

// OpenSeed decrypts the 32-byte private key into a locked, read-only
// buffer charged to the store's budget; the caller uses it at once (to
// open one request) and destroys it. It fails with ErrKeyExpired once the
// key has retired (its seed is dropped then, not at the next Reload) or
// the store was closed, and with locked.ErrExhausted when the budget is
// full. A Key looked up just before a Reload removed it still opens.
func (k *Key) OpenSeed() (*locked.Buffer, error) {
	e := k.seed.Load()
	if e == nil {
		return nil, ErrKeyExpired
	}
	return k.budget.Open(e)
}

// retireAt drops the seed when the key has retired at now.
func (k *Key) retireAt(now time.Time) {
	if k.State(now) == StateRetired {
		k.seed.Store(nil)
	}
}

// published returns the key as it appears in the key configuration.
func (k *Key) published(now time.Time) (keyconfig.Key, bool) {
	st := keyconfig.StateCurrent
	switch k.State(now) {
	case StateRetired:
		return keyconfig.Key{}, false
	case StateNext:
		st = keyconfig.StateNext
	}
	return keyconfig.Key{
		KeyID: k.id, Suite: k.suite, PublicKey: k.pub,
		NotBefore: k.notBefore, NotAfter: k.notAfter, State: st,
	}, true
}
