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

// Grace is how long a key's seed stays in locked memory after a Reload
// removed the key, so that a request that looked it up just before can
// still use it.
const Grace = time.Minute

// Store is a loaded key directory. It is safe for concurrent use: Lookup
// and Document may run while Reload swaps the keys.
type Store struct {
	dir    string
	budget *locked.Budget
	sched  Schedule
	now    func() time.Time // wall clock; replaced in tests

	mu      sync.RWMutex
	closed  bool
	keys    map[uint8]*Key
	signing *locked.Buffer // ed25519.PrivateKey
	history map[uint8]used
	graves  []grave

	doc docCache
}

// used remembers the last key a key_id named, to refuse reuse.
type used struct {
	pub      []byte
	notAfter time.Time
}

// grave is a seed waiting out Grace before it is destroyed.
type grave struct {
	buf *locked.Buffer
	at  time.Time
}

// Open loads the key directory dir: seeds go to locked memory charged to
// budget. It fails with ErrPermissions, ErrFormat or ErrNoKeys (wrapped,
// naming the file) when the directory is unsafe or incomplete.
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

// Reload reads the key directory again and swaps in its keys. Keys whose
// public key did not change keep their seed in memory; removed keys are
// destroyed after Grace. On error the store keeps its previous keys. The
// server calls Reload on SIGHUP.
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
	keys, err := newKeys(d.files, now)
	if err != nil {
		d.destroy()
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		d.destroy()
		for _, k := range keys {
			k.seed.Destroy()
		}
		return ErrClosed
	}
	if err := s.checkReuse(keys, now); err != nil {
		d.destroy()
		for _, k := range keys {
			k.seed.Destroy()
		}
		return err
	}
	s.install(keys, d.signing, now)
	return nil
}

// newKeys turns the directory's key files into Keys, computing public
// keys. Seeds of keys already retired at now are destroyed at once.
func newKeys(files []*keyFile, now time.Time) (map[uint8]*Key, error) {
	keys := make(map[uint8]*Key, len(files))
	for i, f := range files {
		pub, err := crypto.PublicKey(f.suite, f.seed.Bytes())
		if err != nil {
			for _, k := range keys {
				k.seed.Destroy()
			}
			for _, g := range files[i:] {
				g.seed.Destroy()
			}
			return nil, fmt.Errorf("%w: %s: %w", ErrFormat, hpkeFileName(f.id), err)
		}
		k := &Key{id: f.id, suite: f.suite, pub: pub, notBefore: f.notBefore, notAfter: f.notAfter, seed: f.seed}
		if k.State(now) == StateRetired {
			k.seed.Destroy()
			k.seed = nil
		}
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

// install swaps in keys and the signing key. s.mu is held.
func (s *Store) install(keys map[uint8]*Key, signing *locked.Buffer, now time.Time) {
	for id, old := range s.keys {
		k, ok := keys[id]
		switch {
		case ok && bytes.Equal(k.pub, old.pub) && old.seed != nil && k.seed != nil:
			k.seed.Destroy() // keep the seed callers may be using
			k.seed = old.seed
		case old.seed != nil:
			s.graves = append(s.graves, grave{old.seed, now})
		}
	}
	for id, k := range keys {
		s.history[id] = used{pub: k.pub, notAfter: k.notAfter}
	}
	s.keys = keys
	if s.signing != nil && bytes.Equal(s.signing.Bytes(), signing.Bytes()) {
		signing.Destroy()
	} else {
		if s.signing != nil {
			s.graves = append(s.graves, grave{s.signing, now})
		}
		s.signing = signing
	}
	s.sweep(now)
}

// sweep destroys the seeds whose Grace has passed. s.mu is held.
func (s *Store) sweep(now time.Time) {
	kept := s.graves[:0]
	for _, g := range s.graves {
		if now.Sub(g.at) >= Grace {
			g.buf.Destroy()
		} else {
			kept = append(kept, g)
		}
	}
	clear(s.graves[len(kept):])
	s.graves = kept
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
	if s.signing == nil {
		return nil
	}
	return bytes.Clone(ed25519.PrivateKey(s.signing.Bytes()).Public().(ed25519.PublicKey))
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
		s.mu.Lock()
		s.sweep(s.now())
		s.mu.Unlock()
	}
}

// Close destroys every seed. Keys returned by Lookup must not be used
// afterwards.
func (s *Store) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	for _, k := range s.keys {
		k.seed.Destroy()
	}
	for _, g := range s.graves {
		g.buf.Destroy()
	}
	s.signing.Destroy()
	s.keys, s.graves, s.signing = nil, nil, nil
}
