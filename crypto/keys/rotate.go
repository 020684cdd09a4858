package keys

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/sottolabs/sotto/crypto"
	"github.com/sottolabs/sotto/internal/locked"
)

// Schedule is the rotation policy. Times in key files are whole seconds.
type Schedule struct {
	// Lifetime is a new key's validity, not_before to not_after.
	Lifetime time.Duration
	// Overlap is how long an older current key stays valid once its
	// successor is current, and how long before its not_after the
	// successor's not_before is scheduled.
	Overlap time.Duration
	// ReuseWindow is how long a key file is kept after its not_after, so
	// that its key_id is not reused.
	ReuseWindow time.Duration
	// DocumentLifetime is the signed key configuration's expires - issued_at.
	DocumentLifetime time.Duration
	// Resign is the longest time a signed key configuration is served.
	Resign time.Duration
}

// DefaultSchedule rotates every 83 days with 7 days of overlap.
var DefaultSchedule = Schedule{
	Lifetime:         90 * 24 * time.Hour,
	Overlap:          7 * 24 * time.Hour,
	ReuseWindow:      30 * 24 * time.Hour,
	DocumentLifetime: 7 * 24 * time.Hour,
	Resign:           24 * time.Hour,
}

// Init creates the key directory dir (mode 0700, parents too) with a new signing key
// and, per suite, a current key valid from now and a next key scheduled
// Overlap before the current one expires. It fails with ErrExists when dir
// already holds keys.
func Init(dir string, suites []crypto.Suite, now time.Time, budget *locked.Budget) error {
	return DefaultSchedule.Init(dir, suites, now, budget)
}

// Rotate performs one rotation in dir at now; see Schedule.Rotate.
func Rotate(dir string, now time.Time, budget *locked.Budget) error {
	return DefaultSchedule.Rotate(dir, now, budget)
}

// Init is the function Init with schedule sc.
func (sc Schedule) Init(dir string, suites []crypto.Suite, now time.Time, budget *locked.Budget) error {
	if len(suites) == 0 {
		return fmt.Errorf("%w: no suite to create keys for", ErrNoKeys)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	if err := checkDir(dir); err != nil {
		return err
	}
	names, err := hpkeFileNames(dir)
	if err != nil {
		return err
	}
	if _, err := os.Lstat(filepath.Join(dir, signingFileName)); err == nil || len(names) > 0 {
		return fmt.Errorf("%w: %s", ErrExists, dir)
	}
	now = now.UTC().Truncate(time.Second)
	ids := map[uint8]bool{}
	for _, s := range suites {
		if err := sc.create(dir, s, now, now.Add(sc.Lifetime), ids, budget); err != nil {
			return err
		}
		nb := now.Add(sc.Lifetime - sc.Overlap)
		if err := sc.create(dir, s, nb, nb.Add(sc.Lifetime), ids, budget); err != nil {
			return err
		}
	}
	seed, err := budget.Alloc(seedSize)
	if err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	defer seed.Destroy()
	if _, err := rand.Read(seed.Bytes()); err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	return writeSigningKey(dir, seed.Bytes(), budget)
}

// Rotate performs one rotation in dir at now, for every suite that has a
// key file:
//
//  1. key files past not_after + ReuseWindow are deleted (their key_id
//     becomes free);
//  2. a new next key is created, due Overlap before the promoted key's
//     not_after (step 3);
//  3. the next key with the earliest not_before is promoted: its
//     not_before becomes now (a new current key is made when there is no
//     next key);
//  4. every other current key is retired: its not_after becomes at most
//     now + Overlap, so clients holding an older document keep working
//     while they refresh.
//
// A running Store sees the result on Reload or through Watch.
func (sc Schedule) Rotate(dir string, now time.Time, budget *locked.Budget) error {
	d, err := loadDir(dir, budget)
	if err != nil {
		return err
	}
	defer d.destroy()
	now = now.UTC().Truncate(time.Second)
	ids := map[uint8]bool{}
	var live []*keyFile
	var suites []crypto.Suite
	for _, f := range d.files {
		if !now.Before(f.notAfter.Add(sc.ReuseWindow)) {
			if err := os.Remove(filepath.Join(dir, hpkeFileName(f.id))); err != nil {
				return fmt.Errorf("keys: %w", err)
			}
			continue
		}
		ids[f.id] = true
		live = append(live, f)
		if !slices.Contains(suites, f.suite) {
			suites = append(suites, f.suite)
		}
	}
	if len(suites) == 0 {
		return fmt.Errorf("%w: %s holds no HPKE key to rotate", ErrNoKeys, dir)
	}
	for _, s := range suites {
		if err := sc.rotateSuite(dir, s, live, now, ids, budget); err != nil {
			return err
		}
	}
	return nil
}

func (sc Schedule) rotateSuite(dir string, s crypto.Suite, files []*keyFile, now time.Time, ids map[uint8]bool, budget *locked.Budget) error {
	var next *keyFile
	for _, f := range files {
		if f.suite == s && now.Before(f.notBefore) && (next == nil || f.notBefore.Before(next.notBefore)) {
			next = f
		}
	}
	promotedAfter := now.Add(sc.Lifetime)
	if next != nil {
		promotedAfter = minTime(next.notAfter, promotedAfter)
	}
	nb := promotedAfter.Add(-sc.Overlap)
	if err := sc.create(dir, s, nb, nb.Add(sc.Lifetime), ids, budget); err != nil {
		return err
	}
	if next == nil {
		if err := sc.create(dir, s, now, promotedAfter, ids, budget); err != nil {
			return err
		}
	} else {
		next.notBefore, next.notAfter = now, promotedAfter
		if err := writeKeyFile(dir, next, budget); err != nil {
			return err
		}
	}
	for _, f := range files {
		// A key made current within this second keeps one second of
		// validity, as not_before must precede not_after.
		retire := maxTime(now.Add(sc.Overlap), f.notBefore.Add(time.Second))
		if f.suite == s && f != next && f.State(now) == StateCurrent && f.notAfter.After(retire) {
			f.notAfter = retire
			if err := writeKeyFile(dir, f, budget); err != nil {
				return err
			}
		}
	}
	return nil
}

// create writes a new key of suite s valid over [nb, na) under a free
// key_id, which it marks used in ids.
func (sc Schedule) create(dir string, s crypto.Suite, nb, na time.Time, ids map[uint8]bool, budget *locked.Budget) error {
	id, ok := freeID(ids)
	if !ok {
		return fmt.Errorf("keys: all 256 key_ids are in use in %s", dir)
	}
	_, seed, err := crypto.GenerateKeyPair(s, rand.Reader, budget)
	if err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	defer seed.Destroy()
	ids[id] = true
	return writeKeyFile(dir, &keyFile{id: id, suite: s, notBefore: nb, notAfter: na, seed: seed}, budget)
}

// freeID returns the key_id after the highest one in use (wrapping), so
// that ids are reused as late as possible.
func freeID(ids map[uint8]bool) (uint8, bool) {
	start := 1
	for id := range ids {
		start = max(start, int(id)+1)
	}
	for i := range 256 {
		id := uint8((start + i) % 256)
		if !ids[id] {
			return id, true
		}
	}
	return 0, false
}

// State returns the key file's state at now.
func (f *keyFile) State(now time.Time) State { return stateAt(f.notBefore, f.notAfter, now) }

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
