package keys

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sottolabs/sotto/crypto"
	"github.com/sottolabs/sotto/crypto/keyconfig"
	"github.com/sottolabs/sotto/internal/locked"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

const day = 24 * time.Hour

// clock is a settable time source for a Store.
type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock { c := &clock{}; c.set(t); return c }
func (c *clock) set(t time.Time)  { c.ns.Store(t.UnixNano()) }
func (c *clock) now() time.Time   { return time.Unix(0, c.ns.Load()).UTC() }
func testBudget() *locked.Budget  { return locked.NewBudget(1 << 20) }
func keyDir(t *testing.T) string  { return filepath.Join(t.TempDir(), "keys") }

func initDir(t *testing.T, suites ...crypto.Suite) string {
	t.Helper()
	dir := keyDir(t)
	if err := Init(dir, suites, t0, testBudget()); err != nil {
		t.Fatal(err)
	}
	return dir
}

func openAt(t *testing.T, dir string, c *clock) *Store {
	t.Helper()
	s, err := open(dir, testBudget(), c.now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// idsByState returns the key_ids of the store's keys of suite s in state st.
func idsByState(s *Store, suite crypto.Suite, st State, now time.Time) []uint8 {
	var ids []uint8
	for _, k := range s.Keys() {
		if k.Suite() == suite && k.State(now) == st {
			ids = append(ids, k.ID())
		}
	}
	return ids
}

func TestInitLayout(t *testing.T) {
	dir := initDir(t, crypto.SuiteX25519, crypto.SuiteXWing)
	want := map[string]bool{"hpke-001.key": true, "hpke-002.key": true, "hpke-003.key": true, "hpke-004.key": true, "signing.key": true}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(want) {
		t.Fatalf("directory holds %d entries, want %d", len(entries), len(want))
	}
	for _, e := range entries {
		fi, _ := e.Info()
		if !want[e.Name()] || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v", e.Name(), fi.Mode())
		}
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("directory mode %v, want 0700", fi.Mode())
	}
	head := "sotto hpke key v1\nkey_id: 1\nkem_id: 32\nkdf_id: 1\naead_id: 3\n" +
		"not_before: 2026-01-01T00:00:00Z\nnot_after: 2026-04-01T00:00:00Z\nseed: "
	b, _ := os.ReadFile(filepath.Join(dir, "hpke-001.key"))
	if !bytes.HasPrefix(b, []byte(head)) || len(b) != len(head)+65 {
		t.Fatalf("hpke-001.key:\n%s", b)
	}
	if err := Init(dir, []crypto.Suite{crypto.SuiteX25519}, t0, testBudget()); !errors.Is(err, ErrExists) {
		t.Fatalf("second Init: %v, want ErrExists", err)
	}
}

func TestDocumentVerifies(t *testing.T) {
	dir := initDir(t, crypto.SuiteX25519, crypto.SuiteXWing)
	c := newClock(t0)
	s := openAt(t, dir, c)
	doc, err := s.Document(t0)
	if err != nil {
		t.Fatal(err)
	}
	d, err := keyconfig.Accept(nil, doc, s.SigningPublicKey(), t0)
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	if !d.IssuedAt.Equal(t0) || !d.Expires.Equal(t0.Add(7*day)) || len(d.Keys) != 4 {
		t.Fatalf("document issued %v expires %v with %d keys", d.IssuedAt, d.Expires, len(d.Keys))
	}
	var states []string
	for _, k := range d.Keys {
		states = append(states, k.State.String())
		sk, err := s.Lookup(k.KeyID, k.Suite, k.NotBefore)
		if err != nil {
			t.Fatalf("Lookup(%d): %v", k.KeyID, err)
		}
		seed, err := sk.OpenSeed()
		if err != nil {
			t.Fatal(err)
		}
		pub, _ := crypto.PublicKey(k.Suite, seed.Bytes())
		seed.Destroy()
		if !bytes.Equal(pub, k.PublicKey) {
			t.Fatalf("key %d: published key does not match the seed", k.KeyID)
		}
	}
	if got := strings.Join(states, ","); got != "current,current,next,next" {
		t.Fatalf("states %s", got)
	}
	again, _ := s.Document(t0.Add(time.Hour))
	if !bytes.Equal(again, doc) {
		t.Fatal("document re-signed without a change")
	}
	daily, _ := s.Document(t0.Add(day))
	nd, err := keyconfig.Accept(d, daily, s.SigningPublicKey(), t0.Add(day))
	if err != nil || !nd.IssuedAt.Equal(t0.Add(day)) {
		t.Fatalf("daily re-signature: %v", err)
	}
	if _, err := keyconfig.Accept(nd, doc, s.SigningPublicKey(), t0.Add(day)); !errors.Is(err, keyconfig.ErrRollback) {
		t.Fatalf("older document accepted after the daily one: %v", err)
	}
}

// TestRotationWalk follows one key from next to current to retired,
// through two rotations, checking Lookup and the published state.
func TestRotationWalk(t *testing.T) {
	x := crypto.SuiteX25519
	dir := initDir(t, x)
	c := newClock(t0)
	s := openAt(t, dir, c)
	if _, err := s.Lookup(2, x, t0); !errors.Is(err, ErrKeyExpired) {
		t.Fatalf("next key before not_before: %v, want ErrKeyExpired", err)
	}
	k1, err := s.Lookup(1, x, t0)
	if err != nil {
		t.Fatal(err)
	}
	seed1 := openSeed(t, k1)

	t1 := t0.Add(30 * day)
	c.set(t1)
	if err := Rotate(dir, t1, testBudget()); err != nil {
		t.Fatal(err)
	}
	doc1, _ := s.Document(t1)
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := idsByState(s, x, StateCurrent, t1); !equalIDs(got, 1, 2) {
		t.Fatalf("current after rotation: %v, want [1 2]", got)
	}
	if got := idsByState(s, x, StateNext, t1); !equalIDs(got, 3) {
		t.Fatalf("next after rotation: %v, want [3]", got)
	}
	k1, err = s.Lookup(1, x, t1.Add(7*day-time.Second))
	if err != nil || openSeed(t, k1) != seed1 {
		t.Fatalf("retiring key lost its seed across Reload: %v", err)
	}
	if _, err := s.Lookup(1, x, t1.Add(7*day)); !errors.Is(err, ErrKeyExpired) {
		t.Fatalf("retired key: %v, want ErrKeyExpired", err)
	}
	// The key retired: its seed is gone at once, not at the next Reload,
	// even for a request that looked the key up before.
	if _, err := k1.OpenSeed(); !errors.Is(err, ErrKeyExpired) {
		t.Fatalf("OpenSeed of a retired key = %v, want ErrKeyExpired", err)
	}
	if _, err := s.Lookup(2, x, t1); err != nil {
		t.Fatalf("promoted key: %v", err)
	}
	doc2, _ := s.Document(t1)
	if bytes.Equal(doc1, doc2) {
		t.Fatal("document not re-signed after rotation")
	}
	held, _ := keyconfig.Accept(nil, doc2, s.SigningPublicKey(), t1)
	if _, err := keyconfig.Accept(held, doc1, s.SigningPublicKey(), t1); !errors.Is(err, keyconfig.ErrConflict) && !errors.Is(err, keyconfig.ErrRollback) {
		t.Fatalf("client holding the newer document accepted the older: %v", err)
	}

	t2 := t1.Add(60 * day)
	c.set(t2)
	if err := Rotate(dir, t2, testBudget()); err != nil {
		t.Fatal(err)
	}
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	// Key 1's file is deleted 30 days after its not_after (t1 + 7 days).
	if _, err := os.Stat(filepath.Join(dir, "hpke-001.key")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("hpke-001.key not purged: %v", err)
	}
	if _, err := s.Lookup(1, x, t2); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("purged key: %v, want ErrUnknownKey", err)
	}
	if _, err := s.Lookup(2, x, t2.Add(7*day-time.Second)); err != nil {
		t.Fatalf("key 2 in its overlap: %v", err)
	}
	if _, err := s.Lookup(2, x, t2.Add(7*day)); !errors.Is(err, ErrKeyExpired) {
		t.Fatalf("key 2 after its overlap: %v", err)
	}
	if got := idsByState(s, x, StateRetired, t2.Add(7*day)); !equalIDs(got, 2) {
		t.Fatalf("retired: %v, want [2]", got)
	}
	if _, err := s.Lookup(3, x, t2); err != nil {
		t.Fatalf("key 3 promoted: %v", err)
	}
	if _, err := s.Lookup(3, crypto.SuiteXWing, t2); !errors.Is(err, ErrSuiteMismatch) {
		t.Fatalf("suite mismatch: %v", err)
	}
	if _, err := s.Lookup(200, x, t2); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("unknown key: %v", err)
	}
}

func equalIDs(got []uint8, want ...uint8) bool { return bytes.Equal(got, want) }

func TestPermissionsRefused(t *testing.T) {
	dir := initDir(t, crypto.SuiteX25519)
	file := filepath.Join(dir, "hpke-001.key")
	secret, _ := os.ReadFile(file)
	seedHex := string(secret[bytes.LastIndex(secret, []byte("seed: "))+6 : len(secret)-1])
	check := func(what string) {
		t.Helper()
		_, err := Open(dir, testBudget())
		if !errors.Is(err, ErrPermissions) {
			t.Fatalf("%s: Open = %v, want ErrPermissions", what, err)
		}
		if strings.Contains(err.Error(), seedHex) {
			t.Fatalf("%s: error reveals the seed", what)
		}
	}
	if err := os.Chmod(file, 0o644); err != nil {
		t.Fatal(err)
	}
	check("world-readable file")
	if _, err := Open(dir, testBudget()); !strings.Contains(err.Error(), file) {
		t.Fatalf("error does not name %s: %v", file, err)
	}
	os.Chmod(file, 0o640)
	check("group-readable file")
	os.Chmod(file, 0o600)
	os.Chmod(dir, 0o755)
	check("world-readable directory")
	os.Chmod(dir, 0o700)
	os.Remove(file)
	if err := os.Symlink(filepath.Join(dir, "hpke-002.key"), file); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, testBudget()); err == nil {
		t.Fatal("symbolic link followed")
	}
}

func TestFormatRefused(t *testing.T) {
	dir := initDir(t, crypto.SuiteX25519)
	file := filepath.Join(dir, "hpke-002.key")
	orig, _ := os.ReadFile(file)
	cases := map[string][]byte{
		"truncated":     orig[:len(orig)-10],
		"no newline":    orig[:len(orig)-1],
		"trailing":      append(bytes.Clone(orig), "x\n"...),
		"bad magic":     append([]byte("sotto hpke key v2"), orig[17:]...),
		"wrong key_id":  bytes.Replace(orig, []byte("key_id: 2"), []byte("key_id: 3"), 1),
		"zero-padded":   bytes.Replace(orig, []byte("key_id: 2"), []byte("key_id: 02"), 1),
		"unknown suite": bytes.Replace(orig, []byte("kem_id: 32"), []byte("kem_id: 33"), 1),
		"bad time":      bytes.Replace(orig, []byte("T00:00:00Z"), []byte("T00:00:00.0Z"), 1),
		"not hex":       append(bytes.Clone(orig[:len(orig)-3]), "zz\n"...),
		"too large":     bytes.Repeat([]byte("x"), maxFileSize+1),
	}
	for name, content := range cases {
		if err := os.WriteFile(file, content, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(dir, testBudget()); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: Open = %v, want ErrFormat", name, err)
		}
	}
	os.WriteFile(file, orig, 0o600)
	os.Remove(filepath.Join(dir, "signing.key"))
	if _, err := Open(dir, testBudget()); !errors.Is(err, ErrNoKeys) {
		t.Fatalf("without signing key: %v, want ErrNoKeys", err)
	}
}

// TestKeyIDReuse replaces key 1 by another key under the same key_id.
func TestKeyIDReuse(t *testing.T) {
	x := crypto.SuiteX25519
	dir := initDir(t, x)
	c := newClock(t0)
	s := openAt(t, dir, c)
	before, _ := s.Lookup(1, x, t0)
	pub := bytes.Clone(before.PublicKey())

	seed := make([]byte, 32)
	seed[0] = 1
	b := testBudget()
	sb, _ := b.Alloc(32)
	copy(sb.Bytes(), seed)
	f := &keyFile{id: 1, suite: x, notBefore: t0, notAfter: t0.Add(90 * day), seed: sb}
	if err := writeKeyFile(dir, f, b); err != nil {
		t.Fatal(err)
	}
	if err := s.Reload(); !errors.Is(err, ErrKeyIDReuse) {
		t.Fatalf("Reload = %v, want ErrKeyIDReuse", err)
	}
	if k, _ := s.Lookup(1, x, t0); !bytes.Equal(k.PublicKey(), pub) {
		t.Fatal("store dropped its keys after a refused Reload")
	}
	c.set(t0.Add(120*day - time.Second))
	if err := s.Reload(); !errors.Is(err, ErrKeyIDReuse) {
		t.Fatalf("Reload one second before the window ends = %v, want ErrKeyIDReuse", err)
	}
	c.set(t0.Add(120 * day))
	if err := s.Reload(); err != nil {
		t.Fatalf("Reload after the reuse window: %v", err)
	}
	k, _ := s.Lookup(1, x, t0)
	want, _ := crypto.PublicKey(x, seed)
	if !bytes.Equal(k.PublicKey(), want) {
		t.Fatalf("key 1 = %s, want the replacement", hex.EncodeToString(k.PublicKey()))
	}
}

// TestRemovedKeyAndClose: a Key looked up before a Reload removed it
// still opens (its request completes); after Close no key opens.
func TestRemovedKeyAndClose(t *testing.T) {
	x := crypto.SuiteX25519
	dir := initDir(t, x)
	c := newClock(t0)
	s := openAt(t, dir, c)
	os.Remove(filepath.Join(dir, "hpke-002.key"))
	k2, _ := s.Lookup(2, x, t0.Add(90*day-time.Hour))
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Lookup(2, x, t0.Add(90*day-time.Hour)); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("removed key: %v", err)
	}
	if seed := openSeed(t, k2); len(seed) != 2*seedSize {
		t.Fatal("removed key's seed gone for the request holding it")
	}
	k1, _ := s.Lookup(1, x, t0)
	s.Close()
	if _, err := s.Lookup(1, x, t0); !errors.Is(err, ErrClosed) {
		t.Fatalf("Lookup after Close: %v", err)
	}
	if _, err := s.Document(t0); !errors.Is(err, ErrClosed) {
		t.Fatalf("Document after Close: %v", err)
	}
	if _, err := k1.OpenSeed(); !errors.Is(err, ErrKeyExpired) {
		t.Fatalf("OpenSeed after Close = %v", err)
	}
}

// openSeed opens k's seed and returns it hex-encoded (test only).
func openSeed(t *testing.T, k *Key) string {
	t.Helper()
	b, err := k.OpenSeed()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Destroy()
	return hex.EncodeToString(b.Bytes())
}
