package keys

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/sottolabs/sotto/crypto"
	"github.com/sottolabs/sotto/internal/locked"
)

// Store is a loaded key directory. It is safe for concurrent use: Lookup
// and Document may run while Reload swaps the keys.
type Store struct {
	dir    string
	budget *locked.Budget
	sched  Schedule
	now    func() time.Time // wall clock; replaced in tests

	mu         sync.RWMutex
	closed     bool
	keys       map[uint8]*Key
	signing    *locked.Enclave // ed25519.PrivateKey (seed || public key)
	signingPub ed25519.PublicKey
	history    map[uint8]used

	doc docCache
}

// used remembers the last key a key_id named, to refuse reuse.
type used struct {
	pub      []byte
	notAfter time.Time
}

// Open loads the key directory dir: private keys are sealed in enclaves
// and opened into locked memory charged to budget for each use. It fails
// with ErrPermissions, ErrFormat or ErrNoKeys (wrapped, naming the file)
// when the directory is unsafe or incomplete.
func Open(dir string, budget *locked.Budget) (*Store, error) {
	return open(dir, budget, time.Now)
}

func open(dir string, budget *locked.Budget, now func() time.Time) (*Store, error) {
	s := &Store{
		dir: dir, budget: budget, sched: DefaultSchedule, now: now,
		keys: map[uint8]*Key{}, history: map[uint8]used{},
	}
	if err := s.Reload(); err != nil {
		return nil, err
	}
	return s, nil
}

// Dir returns the key directory.
func (s *Store) Dir() string { return s.dir }

// Reload reads the key directory again and swaps in its keys. A Key
// looked up before the swap stays usable by the request holding it; the
// store keeps no reference to removed keys. On error the store keeps its
// previous keys. The server calls Reload on SIGHUP.
func (s *Store) Reload() error {
	d, err := loadDir(s.dir, s.budget)
	if err != nil {
		return err
	}
	if len(d.files) == 0 {
		d.destroy()
		return fmt.Errorf("%w: %s holds no HPKE key", ErrNoKeys, s.dir)
	}
	now := s.now()
	keys, err := newKeys(d.files, now, s.budget)
	if err != nil {
		d.destroy()
		return err
	}
	signingPub := bytes.Clone(ed25519.PrivateKey(d.signing.Bytes()).Public().(ed25519.PublicKey))
	signing := locked.Seal(d.signing) // destroys d.signing
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if err := s.checkReuse(keys, now); err != nil {
		return err
	}
	s.install(keys, signing, signingPub)
	return nil
}

// newKeys turns the directory's key files into Keys, computing public
// keys, and seals each seed in an enclave (destroying the file's locked
// copy). Seeds of keys already retired at now are dropped at once.
func newKeys(files []*keyFile, now time.Time, budget *locked.Budget) (map[uint8]*Key, error) {
	keys := make(map[uint8]*Key, len(files))
	for i, f := range files {
		pub, err := crypto.PublicKey(f.suite, f.seed.Bytes())
		if err != nil {
			for _, g := range files[i:] {
				g.seed.Destroy()
			}
			return nil, fmt.Errorf("%w: %s: %w", ErrFormat, hpkeFileName(f.id), err)
		}
		k := &Key{id: f.id, suite: f.suite, pub: pub, notBefore: f.notBefore, notAfter: f.notAfter, budget: budget}
		if k.State(now) == StateRetired {
			f.seed.Destroy()
		} else {
			k.seed.Store(locked.Seal(f.seed))
		}
		f.seed = nil
		keys[f.id] = k
	}
	return keys, nil
}

// checkReuse refuses a key_id that names a new key within the reuse
// window of the previous key's not_after. s.mu is held.
func (s *Store) checkReuse(keys map[uint8]*Key, now time.Time) error {
	for id, k := range keys {
		h, ok := s.history[id]
		if ok && !bytes.Equal(h.pub, k.pub) && now.Before(h.notAfter.Add(s.sched.ReuseWindow)) {
			return fmt.Errorf("%w: %s", ErrKeyIDReuse, hpkeFileName(id))
		}
	}
	return nil
}

// install swaps in keys and the signing key. Enclaves hold no locked
// memory, so the replaced ones need no grace period: a request still
// holding an old Key opens its own copy. s.mu is held.
func (s *Store) install(keys map[uint8]*Key, signing *locked.Enclave, signingPub ed25519.PublicKey) {
	for id, k := range keys {
		s.history[id] = used{pub: k.pub, notAfter: k.notAfter}
	}
	s.keys = keys
	s.signing, s.signingPub = signing, signingPub
}

// retire drops the seeds of the keys retired at now: a key's private key
// is gone when it retires, not at the next Reload. Lookup retires the key
// it finds retired; Watch retires every key on each tick.
func (s *Store) retire(now time.Time) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, k := range s.keys {
		k.retireAt(now)
	}
}

// Lookup returns the key that opens a request naming keyID and suite at
// now: ErrUnknownKey when no key has that id, ErrSuiteMismatch when the
// key belongs to another suite, ErrKeyExpired outside the key's validity
// (a next key is accepted from its not_before).
func (s *Store) Lookup(keyID uint8, suite crypto.Suite, now time.Time) (*Key, error) {
	s.mu.RLock()
	k, closed := s.keys[keyID], s.closed
	s.mu.RUnlock()
	switch {
	case closed:
		return nil, ErrClosed
	case k == nil:
		return nil, ErrUnknownKey
	case k.suite != suite:
		return nil, ErrSuiteMismatch
	case k.State(now) != StateCurrent:
		k.retireAt(now)
		return nil, ErrKeyExpired
	}
	return k, nil
}

// Keys returns every key of the directory (retired ones included, until
// their files are purged), in key_id order.
func (s *Store) Keys() []*Key {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*Key, 0, len(s.keys))
	for id := range 256 {
		if k := s.keys[uint8(id)]; k != nil {
			out = append(out, k)
		}
	}
	return out
}

// SigningPublicKey returns the public key apps pin.
func (s *Store) SigningPublicKey() ed25519.PublicKey {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return bytes.Clone(s.signingPub)
}

// Watch polls the key directory every interval and reloads it when its
// files changed, until ctx is done; it returns ctx.Err(). Reload errors
// are logged (they name paths only) and the previous keys stay in use.
func (s *Store) Watch(ctx context.Context, interval time.Duration) error {
	last, _ := dirStamp(s.dir)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		stamp, err := dirStamp(s.dir)
		if err == nil && stamp != last {
			if err = s.Reload(); err == nil {
				last = stamp
			}
		}
		if err != nil {
			slog.Warn("keys: reload failed; keeping the loaded keys", "err", err)
		}
		s.retire(s.now())
	}
}

// Close drops every private key: OpenSeed on a Key returned by Lookup
// fails afterwards.
func (s *Store) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	for _, k := range s.keys {
		k.seed.Store(nil)
	}
	s.keys, s.signing = nil, nil
}
