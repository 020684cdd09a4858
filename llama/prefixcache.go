package llama

import (
	"container/list"
	"sync/atomic"
	"time"

	"github.com/sottolabs/sotto/internal/locked"
)

// prefixCache keeps conversations' prompt KV state between requests
// (issue 11), keyed by Request.PrefixKey. An entry is the prompt's token
// ids and the llama.cpp state of its cells (positions, K, V), saved with
// llama_state_seq_get_data into one locked buffer (mlock'ed, excluded from
// core dumps, never written to disk). Entries leave on expiry, on LRU
// eviction when the byte cap would be passed, when taken by a request,
// and at shutdown; leaving destroys the buffer, which memguard zeroes.
// Owned by the scheduler goroutine.
type prefixCache struct {
	budget  *locked.Budget
	limit   int64
	maxTTL  time.Duration
	used    atomic.Int64 // bytes held; read by tests from any goroutine
	entries map[[32]byte]*prefixEntry
	lru     *list.List // of *prefixEntry, most recently stored first
	now     func() time.Time
}

type prefixEntry struct {
	key    [32]byte
	buf    *locked.Buffer
	tokens []Token // view into buf
	state  []byte  // view into buf
	expiry time.Time
	elem   *list.Element
}

func newPrefixCache(cfg *Config) *prefixCache {
	if cfg.PrefixCacheBytes <= 0 {
		return nil
	}
	return &prefixCache{budget: cfg.Budget, limit: cfg.PrefixCacheBytes, maxTTL: cfg.PrefixCacheMaxTTL,
		entries: map[[32]byte]*prefixEntry{}, lru: list.New(), now: time.Now}
}

// take removes and returns key's entry, or nil when there is none or it
// has expired. The caller restores it and then calls drop.
func (c *prefixCache) take(key *[32]byte) *prefixEntry {
	c.expire()
	ent := c.entries[*key]
	if ent == nil {
		return nil
	}
	delete(c.entries, *key)
	c.lru.Remove(ent.elem)
	return ent
}

// store saves tokens and a state of stateSize bytes (written by fill,
// which returns the bytes written, 0 on failure) under key for ttl,
// evicting the least recently stored entries to stay under the cap. It
// stores nothing when the entry alone passes the cap or the locked budget
// is exhausted: a later request misses, it does not fail.
func (c *prefixCache) store(key *[32]byte, ttl time.Duration, tokens []Token, stateSize int, fill func([]byte) int) {
	if old := c.entries[*key]; old != nil {
		c.remove(old)
	}
	tokBytes := 4 * len(tokens)
	size := int64(tokBytes + stateSize)
	if stateSize <= 0 || size > c.limit {
		return
	}
	for c.used.Load()+size > c.limit {
		c.remove(c.lru.Back().Value.(*prefixEntry))
	}
	buf, err := allocAligned(c.budget, tokBytes+stateSize)
	if err != nil {
		return
	}
	mem := buf.Bytes()
	ent := &prefixEntry{key: *key, buf: buf, tokens: TokensIn(mem[:tokBytes]), state: mem[tokBytes : tokBytes+stateSize]}
	copy(ent.tokens, tokens)
	if fill(ent.state) != stateSize {
		buf.Destroy()
		return
	}
	if ttl <= 0 || ttl > c.maxTTL {
		ttl = c.maxTTL
	}
	ent.expiry = c.now().Add(ttl)
	ent.elem = c.lru.PushFront(ent)
	c.entries[*key] = ent
	c.used.Add(size)
}

// drop destroys a taken entry's buffer (zeroed by memguard).
func (c *prefixCache) drop(ent *prefixEntry) {
	c.used.Add(-int64(4*len(ent.tokens) + len(ent.state)))
	ent.buf.Destroy()
}

func (c *prefixCache) remove(ent *prefixEntry) {
	delete(c.entries, ent.key)
	c.lru.Remove(ent.elem)
	c.drop(ent)
}

// expire removes the entries whose time has passed.
func (c *prefixCache) expire() {
	now := c.now()
	for el := c.lru.Front(); el != nil; {
		next := el.Next()
		if ent := el.Value.(*prefixEntry); !now.Before(ent.expiry) {
			c.remove(ent)
		}
		el = next
	}
}

// nextExpiry returns how long until the first entry expires (ok false
// when the cache is empty), so an idle scheduler wakes to wipe it.
func (c *prefixCache) nextExpiry() (time.Duration, bool) {
	if c == nil || len(c.entries) == 0 {
		return 0, false
	}
	first := time.Duration(1<<63 - 1)
	for _, ent := range c.entries {
		first = min(first, ent.expiry.Sub(c.now()))
	}
	return max(first, 0), true
}

// clear removes every entry (shutdown).
func (c *prefixCache) clear() {
	if c == nil {
		return
	}
	for c.lru.Len() > 0 {
		c.remove(c.lru.Front().Value.(*prefixEntry))
	}
}

// commonPrefix returns how many leading tokens a and b share.
func commonPrefix(a, b []Token) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}
