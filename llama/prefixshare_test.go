package llama

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/sottolabs/sotto/internal/locked"
)

// TestPrefixCacheMustFit: a cache that, full, would leave the slots no
// locked memory for their prompts is refused at NewEngine (issue 17, item
// 3); one that fits starts.
func TestPrefixCacheMustFit(t *testing.T) {
	m := stories(t)
	budget := locked.NewBudget(4 << 20)
	_, err := NewEngine(m, Config{Slots: 2, ContextPerSlot: 256, Threads: 1, PrefixCacheBytes: 4 << 20, Budget: budget})
	if !errors.Is(err, ErrPrefixCacheTooLarge) || !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("a cache as large as the budget: %v, want ErrPrefixCacheTooLarge", err)
	}
	e, err := NewEngine(m, Config{Slots: 2, ContextPerSlot: 256, Threads: 1, PrefixCacheBytes: 2 << 20, Budget: budget})
	if err != nil {
		t.Fatalf("a cache that fits: %v", err)
	}
	e.Close()
}

// shareCache is a prefix cache without an engine: entries of chosen
// sizes, a fake clock, an unlimited budget.
func shareCache(limit int64, owners int) (*prefixCache, *time.Time) {
	now := time.Unix(1e9, 0)
	c := newPrefixCache(&Config{PrefixCacheBytes: limit, PrefixCacheDevices: owners, PrefixCacheMaxTTL: time.Hour,
		Budget: locked.NewBudget(locked.Unlimited)})
	c.now = func() time.Time { return now }
	return c, &now
}

// put stores an entry of about size bytes (one token, the rest state).
func put(c *prefixCache, key byte, owner uint64, size int, ttl time.Duration) {
	c.store(&[32]byte{key}, owner, ttl, []Token{1}, size-4, func(b []byte) int { return len(b) })
}

// attackerView is what an attacker (owner 2) can learn through its own
// hits and misses: which of its keys are still cached.
func attackerView(c *prefixCache) []bool {
	var v []bool
	for k := byte(100); k < 140; k++ {
		v = append(v, c.entries[[32]byte{k}] != nil)
	}
	return v
}

// TestPrefixShareSideChannel measures the eviction side channel of 3.2.1:
// an attacker fills the cache with entries of known size, a victim
// stores a conversation of one of two sizes in the middle, and the
// attacker looks at which of its own entries survived. With shares, what it sees is the same for both
// sizes (no bit leaks), and the victim's conversation survives the flood
// (issue 17, item 3). One global LRU leaked the size.
func TestPrefixShareSideChannel(t *testing.T) {
	var views [2][]bool
	for i, victimSize := range []int{4 << 10, 28 << 10} {
		c, _ := shareCache(256<<10, 4)
		for k := byte(100); k < 140; k++ {
			if k == 120 { // the victim stores between the attacker's entries
				put(c, 1, 1, victimSize, 0)
			}
			put(c, k, 2, 6<<10, 0)
		}
		views[i] = attackerView(c)
		if c.entries[[32]byte{1}] == nil {
			t.Errorf("victim of %d bytes evicted by another device's stores", victimSize)
		}
		if sh := c.owners[2]; sh == nil || sh.bytes > c.shareBytes || c.used.Load() > c.limit {
			t.Errorf("attacker share %v over %d, or cache %d over %d", sh, c.shareBytes, c.used.Load(), c.limit)
		}
	}
	if !slices.Equal(views[0], views[1]) {
		t.Errorf("the attacker's surviving entries depend on the victim's size:\n%v\n%v", views[0], views[1])
	}
}

// TestPrefixShareLimits: an owner keeps at most shareEntries entries
// (its oldest leave first), and an owner beyond shareOwners stores
// nothing while the others hold entries.
func TestPrefixShareLimits(t *testing.T) {
	c, _ := shareCache(1<<20, 2)
	for k := range byte(defaultPrefixEntries + 3) {
		put(c, k, 1, 1<<10, 0)
	}
	if n := c.owners[1].lru.Len(); n != defaultPrefixEntries || c.entries[[32]byte{0}] != nil || c.entries[[32]byte{defaultPrefixEntries + 2}] == nil {
		t.Errorf("owner 1 holds %d entries, want the newest %d", n, defaultPrefixEntries)
	}
	put(c, 200, 2, 1<<10, 0)
	put(c, 201, 3, 1<<10, 0)
	if c.entries[[32]byte{200}] == nil || c.entries[[32]byte{201}] != nil {
		t.Error("a third owner stored an entry with two shares taken")
	}
}

// TestPrefixExpireByHeap: entries of several owners expire in expiry
// order, nextExpiry names the soonest, and an expired entry is destroyed.
func TestPrefixExpireByHeap(t *testing.T) {
	c, now := shareCache(1<<20, 4)
	for i, ttl := range []time.Duration{30, 10, 20, 40} {
		put(c, byte(i), uint64(i%2), 1<<10, ttl*time.Second)
	}
	if d, ok := c.nextExpiry(); !ok || d != 10*time.Second {
		t.Fatalf("nextExpiry %v %v, want 10s", d, ok)
	}
	*now = now.Add(25 * time.Second)
	c.expire()
	if len(c.entries) != 2 || c.entries[[32]byte{0}] == nil || c.entries[[32]byte{3}] == nil {
		t.Fatalf("after 25s: %d entries, want keys 0 and 3", len(c.entries))
	}
	if d, _ := c.nextExpiry(); d != 5*time.Second {
		t.Errorf("nextExpiry %v, want 5s", d)
	}
	c.clear()
	if c.used.Load() != 0 || len(c.owners) != 0 || len(c.expiries) != 0 {
		t.Errorf("after clear: %d bytes, %d owners, %d in the heap", c.used.Load(), len(c.owners), len(c.expiries))
	}
}

// BenchmarkPrefixExpire is the cost the scheduler pays for expiry before
// every decode step, with 4096 entries of which none has expired
// (docs/benchmarks.md).
func BenchmarkPrefixExpire(b *testing.B) {
	c, _ := shareCache(1<<40, 256)
	for i := range 4096 {
		c.store(&[32]byte{byte(i), byte(i >> 8)}, uint64(i%256), time.Duration(i+1)*time.Second, []Token{1}, 60, func(p []byte) int { return len(p) })
	}
	if len(c.entries) != 4096 {
		b.Fatalf("%d entries", len(c.entries))
	}
	b.ResetTimer()
	for b.Loop() {
		c.expire()
	}
}
