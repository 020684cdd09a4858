package keys

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/sottolabs/sotto/crypto"
	"github.com/sottolabs/sotto/crypto/keyconfig"
)

// TestIssuedAtIncreases: a change of keys within the same second still
// gets a later issued_at, so clients never see two documents with one
// issued_at.
func TestIssuedAtIncreases(t *testing.T) {
	x := crypto.SuiteX25519
	dir := initDir(t, x)
	c := newClock(t0)
	s := openAt(t, dir, c)
	first, _ := s.Document(t0)
	if err := Rotate(dir, t0, testBudget()); err != nil {
		t.Fatal(err)
	}
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	second, err := s.Document(t0.Add(500 * time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	pin := s.SigningPublicKey()
	held, err := keyconfig.Accept(nil, first, pin, t0)
	if err != nil {
		t.Fatal(err)
	}
	d, err := keyconfig.Accept(held, second, pin, t0)
	if err != nil || !d.IssuedAt.Equal(t0.Add(time.Second)) {
		t.Fatalf("second document: %v, issued %v", err, d)
	}
}

// TestConcurrentLookupReload runs lookups and document requests while the
// directory rotates and reloads (run with -race).
func TestConcurrentLookupReload(t *testing.T) {
	x := crypto.SuiteX25519
	dir := initDir(t, x)
	c := newClock(t0)
	s := openAt(t, dir, c)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for ctx.Err() == nil {
				if k, err := s.Lookup(1, x, t0); err == nil {
					if seed, err := k.OpenSeed(); err != nil || len(seed.Bytes()) != seedSize {
						t.Error("key without seed")
					} else {
						seed.Destroy()
					}
				}
				if _, err := s.Document(t0); err != nil {
					t.Error(err)
				}
			}
		})
	}
	for i := range 5 {
		if err := Rotate(dir, t0.Add(time.Duration(i)*time.Hour), testBudget()); err != nil {
			t.Fatal(err)
		}
		if err := s.Reload(); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	wg.Wait()
	if _, err := s.Lookup(1, x, t0); err != nil {
		t.Fatalf("key 1 after rotations: %v", err)
	}
}

// TestWatch: a rotation in the directory reaches a watching store.
func TestWatch(t *testing.T) {
	x := crypto.SuiteX25519
	dir := initDir(t, x)
	c := newClock(t0)
	s := openAt(t, dir, c)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Watch(ctx, 5*time.Millisecond) }()
	if err := Rotate(dir, t0, testBudget()); err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := s.Lookup(3, x, t0.Add(90*day)); !errors.Is(err, ErrUnknownKey) {
			break // key 3, created by the rotation, is loaded
		}
		time.Sleep(5 * time.Millisecond) // polling for the outcome, no timing assertion
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Watch returned %v", err)
	}
}

// TestSharedDirectorySameBytes: processes that open one key directory at
// different times, and sign for the first time seconds or hours apart,
// publish the same bytes, before and after a rotation (issue 17, item 14:
// a router that switches source never serves an older document).
func TestSharedDirectorySameBytes(t *testing.T) {
	dir := initDir(t, crypto.SuiteX25519)
	a := openAt(t, dir, newClock(t0))
	first, _ := a.Document(t0.Add(3 * time.Second))
	b := openAt(t, dir, newClock(t0.Add(7*time.Hour)))
	if second, _ := b.Document(t0.Add(7 * time.Hour)); !bytes.Equal(first, second) {
		t.Fatalf("stores opened 7 hours apart publish different documents:\n%s\n%s", first, second)
	}
	d1, _ := a.Document(t0.Add(day + time.Hour))
	d2, _ := b.Document(t0.Add(day + 5*time.Hour))
	d, err := keyconfig.Accept(nil, d1, a.SigningPublicKey(), t0.Add(day+time.Hour))
	if !bytes.Equal(d1, d2) || err != nil || !d.IssuedAt.Equal(t0.Add(day)) {
		t.Fatalf("daily re-signatures differ or are not issued at the day boundary: %v %v", err, d)
	}
	t1 := t0.Add(30*day + 17*time.Second)
	if err := Rotate(dir, t1, testBudget()); err != nil {
		t.Fatal(err)
	}
	c := openAt(t, dir, newClock(t1.Add(time.Minute)))
	if err := b.Reload(); err != nil {
		t.Fatal(err)
	}
	r1, _ := b.Document(t1.Add(2 * time.Second))
	r2, _ := c.Document(t1.Add(time.Hour))
	if !bytes.Equal(r1, r2) {
		t.Fatalf("after a rotation, a reloaded and a fresh store publish different documents:\n%s\n%s", r1, r2)
	}
}
