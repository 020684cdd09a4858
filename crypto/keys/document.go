package keys

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/sottolabs/sotto/crypto/keyconfig"
)

// docCache holds the last signed key configuration.
type docCache struct {
	mu       sync.Mutex
	json     []byte
	fp       []byte    // what was signed, without times: see fingerprint
	issuedAt time.Time // strictly increasing across re-signatures
}

// Document returns the signed key configuration to publish at now (the
// body of GET /api/pubkey and the key_config member of a 422 problem):
// every next and current key. The document is cached and signed again,
// with a later issued_at, when the set of published keys or their states
// change, when the signing key changes, and at least every
// Schedule.Resign. issued_at comes from the key directory, not from the
// clock of first use (see issuedAt): workers sharing a key directory
// publish the same bytes, as Ed25519 signatures are deterministic. It fails with ErrNoKeys when no key is publishable.
// The returned slice must not be modified.
func (s *Store) Document(now time.Time) ([]byte, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, ErrClosed
	}
	pub := s.publishable(now)
	if len(pub) == 0 {
		return nil, fmt.Errorf("%w: no next or current key to publish", ErrNoKeys)
	}
	fp, err := fingerprint(pub, s.signingPub)
	if err != nil {
		return nil, err
	}
	c := &s.doc
	c.mu.Lock()
	defer c.mu.Unlock()
	issued := s.issuedAt(now)
	if !issued.After(c.issuedAt) {
		if c.json != nil && bytes.Equal(fp, c.fp) {
			return c.json, nil
		}
		// New content within the epoch of the cached document (a reload,
		// a new signing key): later than what clients may hold.
		issued = c.issuedAt.Add(time.Second)
	}
	d := &keyconfig.Document{IssuedAt: issued, Expires: issued.Add(s.sched.DocumentLifetime), Keys: pub}
	if err := s.sign(d); err != nil {
		return nil, err
	}
	out, err := d.MarshalJSON()
	if err != nil {
		return nil, err
	}
	c.json, c.fp, c.issuedAt = out, fp, issued
	return out, nil
}

// sign opens the signing key into locked memory for one signature.
func (s *Store) sign(d *keyconfig.Document) error {
	priv, err := s.budget.Open(s.signing)
	if err != nil {
		return fmt.Errorf("keys: signing key: %w", err)
	}
	defer priv.Destroy()
	return keyconfig.Sign(d, ed25519.PrivateKey(priv.Bytes()))
}

// publishable returns the keys to publish at now, ordered by not_before
// then key_id. s.mu is held.
func (s *Store) publishable(now time.Time) []keyconfig.Key {
	var out []keyconfig.Key
	for _, k := range s.keys {
		if p, ok := k.published(now); ok {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b keyconfig.Key) int {
		if c := a.NotBefore.Compare(b.NotBefore); c != 0 {
			return c
		}
		return int(a.KeyID) - int(b.KeyID)
	})
	return out
}

// fingerprint identifies a document's content apart from its times: the
// signing public key and the tbs of the keys with zero times.
func fingerprint(keys []keyconfig.Key, signingPub ed25519.PublicKey) ([]byte, error) {
	d := keyconfig.Document{Keys: keys}
	tbs, err := d.TBS()
	if err != nil {
		return nil, err
	}
	return append(tbs, signingPub...), nil
}

// issuedAt is the issued_at of the document due at now: the last time at
// or before now when a key's state changed (a not_before or not_after,
// which Init and Rotate set to their own time), plus whole Resign periods.
// Every process reading the same directory derives the same time, so a
// router may fetch the document from any of them (issue 17, item 14).
// s.mu is held.
func (s *Store) issuedAt(now time.Time) time.Time {
	var anchor time.Time
	for _, k := range s.keys {
		for _, t := range []time.Time{k.notBefore, k.notAfter} {
			if !t.After(now) && t.After(anchor) {
				anchor = t
			}
		}
	}
	if anchor.IsZero() || s.sched.Resign <= 0 {
		return now.UTC().Truncate(time.Second)
	}
	periods := now.Sub(anchor) / s.sched.Resign
	return anchor.Add(periods * s.sched.Resign).UTC()
}
