package ratelimit

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sottolabs/sotto/internal/locked"
)

var t0 = time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)

func allow(t *testing.T, l Limiter, key string, at time.Time) Decision {
	t.Helper()
	d, err := l.Allow(context.Background(), key, at)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestBurstThenRefuse(t *testing.T) {
	m := NewMemory(60, 3, 10) // one token a second
	for i, want := range []int{2, 1, 0} {
		if d := allow(t, m, "k", t0); d != (Decision{Allowed: true, Remaining: want}) {
			t.Fatalf("request %d: %+v", i, d)
		}
	}
	if d := allow(t, m, "k", t0); d != (Decision{RetryAfter: time.Second}) {
		t.Fatalf("over burst: %+v", d)
	}
	// Refused requests take no token: the wait shrinks with time only.
	if d := allow(t, m, "k", t0.Add(400*time.Millisecond)); d != (Decision{RetryAfter: 600 * time.Millisecond}) {
		t.Fatalf("later refusal: %+v", d)
	}
}

func TestRefill(t *testing.T) {
	m := NewMemory(120, 2, 10) // two tokens a second
	allow(t, m, "k", t0)
	allow(t, m, "k", t0)
	if d := allow(t, m, "k", t0.Add(499*time.Millisecond)); d.Allowed || d.RetryAfter != time.Millisecond {
		t.Fatalf("before refill: %+v", d)
	}
	if d := allow(t, m, "k", t0.Add(500*time.Millisecond)); d != (Decision{Allowed: true, Remaining: 0}) {
		t.Fatalf("after one token: %+v", d)
	}
	// A long pause refills to the burst, never beyond.
	if d := allow(t, m, "k", t0.Add(time.Hour)); d != (Decision{Allowed: true, Remaining: 1}) {
		t.Fatalf("after an hour: %+v", d)
	}
}

func TestKeysAreIndependent(t *testing.T) {
	m := NewMemory(60, 1, 10)
	if !allow(t, m, "a", t0).Allowed || allow(t, m, "a", t0).Allowed {
		t.Fatal("a: want one allowed then refused")
	}
	if !allow(t, m, "b", t0).Allowed {
		t.Fatal("b refused because of a")
	}
}

// TestBoundedKeysNeverLockOut: a table full of active keys (a flood of
// distinct addresses) stays bounded and still admits a new client, by
// evicting the least recently used key.
func TestBoundedKeysNeverLockOut(t *testing.T) {
	m := NewMemory(60, 10, 2) // idle after 10 s
	allow(t, m, "a", t0)
	allow(t, m, "b", t0.Add(2*time.Second))
	if !allow(t, m, "a", t0.Add(3*time.Second)).Allowed {
		t.Fatal("known key refused")
	}
	// Full of active keys: c evicts b, the least recently used.
	if d := allow(t, m, "c", t0.Add(4*time.Second)); d != (Decision{Allowed: true, Remaining: 9}) {
		t.Fatalf("new key in a full table: %+v", d)
	}
	if m.Len() != 2 {
		t.Fatalf("Len = %d", m.Len())
	}
	// a kept its bucket (two tokens taken, at most 3 refilled; burst 10).
	if d := allow(t, m, "a", t0.Add(5*time.Second)); d != (Decision{Allowed: true, Remaining: 9}) {
		t.Fatalf("a after the eviction of b: %+v", d)
	}
	// A flood of 1000 new keys: every one is admitted, the table holds 2.
	for i := range 1000 {
		if !allow(t, m, "flood"+strconv.Itoa(i), t0.Add(6*time.Second)).Allowed {
			t.Fatalf("flood key %d refused", i)
		}
	}
	if m.Len() != 2 {
		t.Fatalf("Len after the flood = %d", m.Len())
	}
	if !allow(t, m, "new-client", t0.Add(6*time.Second)).Allowed {
		t.Fatal("a new client is locked out after the flood")
	}
}

func TestEvictedKeyLosesNothing(t *testing.T) {
	m := NewMemory(60, 2, 1)
	allow(t, m, "a", t0)
	allow(t, m, "a", t0)
	// a idles for its full refill time (2 s), is evicted for b, and comes
	// back with a full bucket, as it would have had anyway.
	allow(t, m, "b", t0.Add(2*time.Second))
	if d := allow(t, m, "a", t0.Add(4*time.Second)); d != (Decision{Allowed: true, Remaining: 1}) {
		t.Fatalf("a after eviction: %+v", d)
	}
}

func TestSweep(t *testing.T) {
	m := NewMemory(60, 5, 100)
	for _, k := range []string{"a", "b", "c"} {
		allow(t, m, k, t0)
	}
	allow(t, m, "d", t0.Add(3*time.Second))
	m.Sweep(t0.Add(4 * time.Second))
	if m.Len() != 4 {
		t.Fatalf("swept active keys: Len = %d", m.Len())
	}
	m.Sweep(t0.Add(5 * time.Second))
	if m.Len() != 1 {
		t.Fatalf("after idle: Len = %d", m.Len())
	}
	m.Sweep(t0.Add(8 * time.Second))
	if m.Len() != 0 {
		t.Fatalf("Len = %d", m.Len())
	}
}

func TestConcurrency(t *testing.T) {
	c := NewConcurrency(2, 2)
	r1, ok1 := c.Acquire("dev")
	r2, ok2 := c.Acquire("dev")
	if !ok1 || !ok2 {
		t.Fatal("first two acquires refused")
	}
	if _, ok := c.Acquire("dev"); ok {
		t.Fatal("third acquire allowed")
	}
	r1()
	r1() // a second release is a no-op
	if c.InFlight("dev") != 1 {
		t.Fatalf("InFlight = %d", c.InFlight("dev"))
	}
	r3, ok := c.Acquire("dev")
	if !ok {
		t.Fatal("acquire after release refused")
	}
	if _, ok := c.Acquire("other"); !ok {
		t.Fatal("second key refused")
	}
	if _, ok := c.Acquire("third"); ok {
		t.Fatal("key beyond maxKeys allowed")
	}
	r2()
	r3()
	if c.InFlight("dev") != 0 || len(c.active) != 1 {
		t.Fatalf("state after release: %v", c.active)
	}
}

func TestConcurrencyParallel(t *testing.T) {
	c := NewConcurrency(3, 10)
	var wg sync.WaitGroup
	var mu sync.Mutex
	granted := 0
	releases := make(chan func(), 50)
	for range 50 {
		wg.Go(func() {
			if r, ok := c.Acquire("k"); ok {
				mu.Lock()
				granted++
				mu.Unlock()
				releases <- r
			}
		})
	}
	wg.Wait()
	close(releases)
	if granted != 3 {
		t.Fatalf("granted %d slots, want 3", granted)
	}
	for r := range releases {
		r()
	}
	if c.InFlight("k") != 0 {
		t.Fatal("slots leaked")
	}
}

// TestSharedKeyer: keys are deterministic for one secret and agree
// between two keyers of the same shared secret (two routers), differ for
// distinct ids, kinds and secrets, and do not show the id.
func TestSharedKeyer(t *testing.T) {
	budget := locked.NewBudget(locked.Unlimited)
	secret := func(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }
	k1, k2, other := NewSharedKeyer(secret(1), budget), NewSharedKeyer(secret(1), budget), NewSharedKeyer(secret(2), budget)
	key := func(k *SealedKeyer, kind string, id []byte) string {
		v, err := k.Key(kind, id)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	a := key(k1, "ip", []byte{192, 0, 2, 1})
	if a != key(k2, "ip", []byte{192, 0, 2, 1}) {
		t.Fatal("two keyers of one shared secret disagree")
	}
	if !strings.HasPrefix(a, "ip:") || len(a) != len("ip:")+22 || strings.Contains(a, "192") {
		t.Fatalf("key = %q", a)
	}
	if a == key(k1, "ip", []byte{192, 0, 2, 2}) || a[3:] == key(k1, "device", []byte{192, 0, 2, 1})[7:] ||
		a == key(other, "ip", []byte{192, 0, 2, 1}) {
		t.Fatal("distinct ids, kinds or secrets share a key")
	}
}
