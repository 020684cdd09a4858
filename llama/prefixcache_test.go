package llama

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sottolabs/sotto/internal/locked"
)

// prefixEngine is a one-slot stories260K engine with a prefix cache, its
// own locked budget and a clock the test moves.
func prefixEngine(t *testing.T, limit int64) (*Engine, *locked.Budget, *atomic.Int64) {
	t.Helper()
	budget := locked.NewBudget(locked.Unlimited)
	e := newEngine(t, Config{Slots: 1, PrefixCacheBytes: limit, Budget: budget})
	var skew atomic.Int64
	e.prefix.now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	return e, budget, &skew
}

// turn runs a greedy request on tokens with key and returns its text
// and how many prompt tokens came from the cache.
func turn(t *testing.T, e *Engine, key *[32]byte, tokens []Token) (string, int) {
	t.Helper()
	var text []byte
	res, err := e.Generate(context.Background(), &Request{Tokens: tokens, MaxTokens: 12, IgnoreEOS: true, PrefixKey: key},
		func(p []byte) error { text = append(text, p...); return nil })
	if err != nil || res.Finish != FinishLength {
		t.Fatalf("turn: %v, finish %q", err, res.Finish)
	}
	return string(text), res.CachedTokens
}

// conversation returns three growing prompts sharing their prefixes.
func conversation(e *Engine) (t1, t2, t3 []Token) {
	all := SyntheticPrompt(e.Model(), 90, 7)
	return all[:40], all[:70], all[:90]
}

func TestPrefixCacheReusesAndMatchesUncached(t *testing.T) {
	e, _, _ := prefixEngine(t, 1<<24)
	plain := newEngine(t, Config{Slots: 1})
	key := &[32]byte{1}
	t1, t2, t3 := conversation(e)
	for i, tc := range []struct {
		prompt []Token
		cached int
	}{{t1, 0}, {t2, len(t1)}, {t3, len(t2)}} {
		got, cached := turn(t, e, key, tc.prompt)
		want, _ := turn(t, plain, nil, tc.prompt)
		if cached != tc.cached {
			t.Errorf("turn %d: %d cached tokens, want %d", i+1, cached, tc.cached)
		}
		if got != want {
			t.Errorf("turn %d: cached text %q, uncached %q", i+1, got, want)
		}
		// The conversation lives in the locked entry, not in the cache's cells.
		if n := cacheNonZero(e); n != 0 {
			t.Errorf("turn %d: %d non-zero KV bytes after the request", i+1, n)
		}
	}
	// Stats: turn 1 prefilled t1, turns 2 and 3 only what was new.
	st := e.Stats()
	if st.PromptTokensPrefilled != uint64(len(t3)) || st.PromptTokensCached != uint64(len(t1)+len(t2)) {
		t.Errorf("stats: %d prefilled, %d cached; want %d, %d",
			st.PromptTokensPrefilled, st.PromptTokensCached, len(t3), len(t1)+len(t2))
	}
	// The same prompt again: all but the last token is reused.
	if _, cached := turn(t, e, key, t3); cached != len(t3)-1 {
		t.Errorf("repeated prompt: %d cached tokens, want %d", cached, len(t3)-1)
	}
}

func TestPrefixCacheIsolatedByKey(t *testing.T) {
	e, _, _ := prefixEngine(t, 1<<24)
	t1, t2, _ := conversation(e)
	turn(t, e, &[32]byte{1}, t1)
	if _, cached := turn(t, e, &[32]byte{2}, t2); cached != 0 {
		t.Errorf("another key: %d cached tokens, want 0", cached)
	}
	if _, cached := turn(t, e, nil, t2); cached != 0 {
		t.Errorf("no key: %d cached tokens, want 0", cached)
	}
	if _, cached := turn(t, e, &[32]byte{1}, t2); cached != len(t1) {
		t.Errorf("own key after the others: %d cached tokens, want %d", cached, len(t1))
	}
}

func TestPrefixCacheExpiryDestroysEntry(t *testing.T) {
	e, budget, skew := prefixEngine(t, 1<<24)
	t1, t2, _ := conversation(e)
	key := &[32]byte{1}
	base := budget.InUse()
	turn(t, e, key, t1)
	if budget.InUse() <= base || e.prefix.used.Load() == 0 {
		t.Fatalf("after turn 1: locked %d (base %d), cache %d bytes; want an entry", budget.InUse(), base, e.prefix.used.Load())
	}
	skew.Store(int64(e.cfg.PrefixCacheMaxTTL + time.Second))
	if _, cached := turn(t, e, key, t2); cached != 0 {
		t.Errorf("after the TTL: %d cached tokens, want 0", cached)
	}
	// turn 2 stored a fresh entry; move past it too and let a keyless
	// request expire it.
	skew.Store(2 * int64(e.cfg.PrefixCacheMaxTTL+time.Second))
	turn(t, e, nil, t1)
	if e.prefix.used.Load() != 0 || budget.InUse() != base {
		t.Errorf("after expiry: cache %d bytes, locked %d; want 0 and %d", e.prefix.used.Load(), budget.InUse(), base)
	}
}

func TestPrefixCacheEvictsLeastRecent(t *testing.T) {
	e, _, _ := prefixEngine(t, 1<<24)
	t1, t2, _ := conversation(e)
	other := SyntheticPrompt(e.Model(), 40, 9)
	a, b := &[32]byte{1}, &[32]byte{2}
	turn(t, e, a, t1)
	one := e.prefix.used.Load()
	e.prefix.shareBytes = one * 3 / 2 // room for one conversation of this size
	turn(t, e, b, other)
	if e.prefix.used.Load() > e.prefix.shareBytes || len(e.prefix.entries) != 1 {
		t.Fatalf("cache %d bytes in %d entries, cap %d", e.prefix.used.Load(), len(e.prefix.entries), e.prefix.shareBytes)
	}
	if _, cached := turn(t, e, a, t1); cached != 0 {
		t.Errorf("evicted conversation: %d cached tokens, want 0", cached)
	}
	// a's turn stored a again, which evicted b.
	if _, cached := turn(t, e, b, other); cached != 0 {
		t.Errorf("conversation b: %d cached tokens after a's turn evicted it, want 0", cached)
	}
	// An entry larger than the cap is not stored at all.
	turn(t, e, a, t2)
	if e.prefix.used.Load() > e.prefix.shareBytes || e.prefix.entries[*a] != nil {
		t.Errorf("after a too-large entry: cache %d bytes, cap %d, entry stored %v",
			e.prefix.used.Load(), e.prefix.shareBytes, e.prefix.entries[*a] != nil)
	}
}

func TestPrefixCacheClearedOnClose(t *testing.T) {
	e, budget, _ := prefixEngine(t, 1<<24)
	t1, _, _ := conversation(e)
	turn(t, e, &[32]byte{1}, t1)
	if e.prefix.used.Load() == 0 {
		t.Fatal("no entry stored")
	}
	e.Close()
	if budget.InUse() != 0 {
		t.Errorf("locked bytes after Close: %d, want 0", budget.InUse())
	}
}

// TestPrefixCacheExpiresWhileIdle: with no request coming, the scheduler
// wakes at the entry's expiry and destroys it.
func TestPrefixCacheExpiresWhileIdle(t *testing.T) {
	budget := locked.NewBudget(locked.Unlimited)
	e := newEngine(t, Config{Slots: 1, PrefixCacheBytes: 1 << 24, PrefixCacheMaxTTL: 20 * time.Millisecond, Budget: budget})
	base := budget.InUse()
	t1, _, _ := conversation(e)
	turn(t, e, &[32]byte{1}, t1)
	// Waits for the outcome; a scheduler that never wakes fails by the
	// test's timeout.
	for e.prefix.used.Load() != 0 {
		time.Sleep(time.Millisecond)
	}
	// The entry is accounted out just before its buffer is destroyed:
	// give the scheduler the moment between the two (a loaded machine).
	deadline := time.Now().Add(5 * time.Second)
	for budget.InUse() != base && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if budget.InUse() != base {
		t.Errorf("locked bytes after expiry: %d, want %d", budget.InUse(), base)
	}
}
