package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/sottolabs/sotto/crypto/keyconfig"
	"github.com/sottolabs/sotto/crypto/wire"
)

// maxKeyConfigBytes bounds GET /api/pubkey and the state file.
const maxKeyConfigBytes = 256 << 10

// maxForwardCorrection bounds how far ahead of the local clock a server's
// Date may move the time a fresh document is judged at (see accept).
const maxForwardCorrection = time.Hour

// keyState is the client's held key configuration and clock offset,
// guarded by Client.mu.
type keyState struct {
	held   *keyconfig.Document // nil until one is accepted
	offset time.Duration       // server clock - local clock, from #date
}

// accept applies keyconfig.Accept to candidate, received in a response
// whose Date header was date (zero if none), and holds the result when it
// is newer. It reports whether the held document changed.
//
// A phone whose clock is slow sees a freshly signed document as issued in
// the future (keyconfig.ErrFuture). Only then, the document is judged
// again at the server's Date, at most maxForwardCorrection ahead: moving
// the clock forward can only make the expiry check stricter, so a forged
// Date cannot revive an expired document, and the signature and rollback
// checks do not depend on the time.
func (c *Client) accept(candidate []byte, date time.Time) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	doc, err := keyconfig.Accept(c.keys.held, candidate, c.pin, now)
	if errors.Is(err, keyconfig.ErrFuture) && date.After(now) && date.Sub(now) <= maxForwardCorrection {
		doc, err = keyconfig.Accept(c.keys.held, candidate, c.pin, date)
	}
	if err != nil {
		return false, fmt.Errorf("%w: %w", ErrKeyConfig, err)
	}
	if c.keys.held != nil && !doc.IssuedAt.After(c.keys.held.IssuedAt) {
		return false, nil
	}
	if err := c.saveState(candidate); err != nil {
		return false, err
	}
	c.keys.held = doc
	return true, nil
}

// fetchKeyConfig fetches GET /api/pubkey and accepts it.
func (c *Client) fetchKeyConfig(ctx context.Context) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+wire.PathPubkey, nil)
	if err != nil {
		return false, fmt.Errorf("client: %w", err)
	}
	req.Header.Set("Accept", wire.MediaTypeKeyConfig)
	resp, err := c.http.Do(req)
	if err != nil {
		return false, fmt.Errorf("client: key configuration: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false, readProblem(resp)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxKeyConfigBytes+1))
	if err != nil {
		return false, fmt.Errorf("client: key configuration: %w", err)
	}
	if len(data) > maxKeyConfigBytes {
		return false, unexpected("key configuration too large")
	}
	date := serverTime(resp.Header)
	c.learnClock(date, c.now())
	return c.accept(data, date)
}

// pickKey returns the key to seal to: the newest current key of the
// configured suite, else a next key whose not_before has passed; in both
// cases one whose not_after has not, at the server's time (local clock +
// offset). A current key's not_before is not checked: the signed document
// says the server already uses it, and a slow local clock must not make
// the client skip it. ok is false when the held document is missing,
// expired or has no such key.
func (c *Client) pickKey() (k keyconfig.Key, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d := c.keys.held
	now := c.now()
	if d == nil || !now.Before(d.Expires) {
		return k, false
	}
	t := now.Add(c.keys.offset)
	var cur, next *keyconfig.Key
	for i := range d.Keys {
		key := &d.Keys[i]
		if key.Suite != c.suite || !t.Before(key.NotAfter) {
			continue
		}
		switch {
		case key.State == keyconfig.StateCurrent && (cur == nil || key.NotBefore.After(cur.NotBefore)):
			cur = key
		case key.State == keyconfig.StateNext && !t.Before(key.NotBefore) &&
			(next == nil || key.NotBefore.Before(next.NotBefore)):
			next = key
		}
	}
	if cur == nil {
		cur = next
	}
	if cur == nil {
		return k, false
	}
	return *cur, true
}

// key returns the key to seal to, fetching the key configuration when the
// held one has none.
func (c *Client) key(ctx context.Context) (keyconfig.Key, error) {
	if k, ok := c.pickKey(); ok {
		return k, nil
	}
	if _, err := c.fetchKeyConfig(ctx); err != nil {
		return keyconfig.Key{}, err
	}
	if k, ok := c.pickKey(); ok {
		return k, nil
	}
	return keyconfig.Key{}, fmt.Errorf("%w: no valid %s key", ErrKeyConfig, c.suite)
}

// loadState reads the state file, if any. A document that does not
// verify under the pinned key is an error (one state file per pinned
// key); an expired one is still held, as the floor that refuses rollback.
func (c *Client) loadState() error {
	if c.statePath == "" {
		return nil
	}
	f, err := os.Open(c.statePath)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrState, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKeyConfigBytes+1))
	if err != nil || len(data) > maxKeyConfigBytes {
		return fmt.Errorf("%w: %s: unreadable or too large", ErrState, c.statePath)
	}
	doc, err := keyconfig.Parse(data)
	if err == nil {
		err = doc.Verify(c.pin)
	}
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrState, c.statePath, err)
	}
	c.keys.held = doc
	return nil
}

// saveState replaces the state file with data (0600), atomically: a crash
// leaves the old or the new document, never a torn one.
func (c *Client) saveState(data []byte) error {
	if c.statePath == "" {
		return nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(c.statePath), ".keyconfig-*")
	if err != nil {
		return fmt.Errorf("%w: %w", ErrState, err)
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	_, werr := tmp.Write(data)
	serr := tmp.Sync()
	cerr := tmp.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		return fmt.Errorf("%w: %w", ErrState, err)
	}
	if err := os.Rename(tmp.Name(), c.statePath); err != nil {
		return fmt.Errorf("%w: %w", ErrState, err)
	}
	return nil
}
