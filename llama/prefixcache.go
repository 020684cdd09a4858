package llama

import (
	"container/heap"
	"container/list"
	"sync/atomic"
	"time"

	"github.com/sottolabs/sotto/internal/locked"
)

// prefixCache keeps conversations' prompt KV state between requests
// (issue 11), keyed by Request.PrefixKey. An entry is the prompt's token
// ids and the llama.cpp state of its cells (positions, K, V), saved with
// llama_state_seq_get_data into one locked buffer (mlock'ed, excluded from
// core dumps, never written to disk). Entries leave on expiry, on eviction
// within their owner's share, when taken by a request, and at shutdown;
// leaving destroys the buffer, which memguard zeroes. Owned by the
// scheduler goroutine.
//
// Shares (issue 17, item 3): each owner (Request.PrefixOwner, one per
// device) may hold at most shareBytes and shareEntries, and at most
// shareOwners owners hold entries at once, with shareOwners*shareBytes <=
// limit. So the cap is never reached by eviction from another owner: an
// owner's entries leave only by its own stores, its own takes, or expiry.
// What one device can observe of the others through its own hits and
// misses is whether shareOwners other devices hold entries (its store is
// then refused), never their sizes (prefixshare_test.go measures it).
type prefixCache struct {
	budget       *locked.Budget
	limit        int64
	maxTTL       time.Duration
	shareOwners  int
	shareBytes   int64
	shareEntries int
	used         atomic.Int64 // bytes held; read by tests from any goroutine
	entries      map[[32]byte]*prefixEntry
	owners       map[uint64]*prefixShare
	expiries     expiryHeap // every entry, soonest expiry first
	now          func() time.Time
}

// prefixShare is one owner's entries, most recently stored first.
type prefixShare struct {
	bytes int64
	lru   list.List // of *prefixEntry
}

type prefixEntry struct {
	key    [32]byte
	owner  uint64
	buf    *locked.Buffer
	tokens []Token // view into buf
	state  []byte  // view into buf
	expiry time.Time
	elem   *list.Element // in its owner's lru
	index  int           // in expiries
}

// Default shares: a cache of PrefixCacheBytes serves this many devices at
// once, each with up to this many conversations.
const (
	defaultPrefixOwners  = 8
	defaultPrefixEntries = 16
)

func newPrefixCache(cfg *Config) *prefixCache {
	if cfg.PrefixCacheBytes <= 0 {
		return nil
	}
	owners := max(cfg.PrefixCacheDevices, 1)
	return &prefixCache{budget: cfg.Budget, limit: cfg.PrefixCacheBytes, maxTTL: cfg.PrefixCacheMaxTTL,
		shareOwners: owners, shareBytes: cfg.PrefixCacheBytes / int64(owners), shareEntries: defaultPrefixEntries,
		entries: map[[32]byte]*prefixEntry{}, owners: map[uint64]*prefixShare{}, now: time.Now}
}

// take removes and returns key's entry, or nil when there is none or it
// has expired. The caller restores it and then calls drop.
func (c *prefixCache) take(key *[32]byte) *prefixEntry {
	c.expire()
	ent := c.entries[*key]
	if ent == nil {
		return nil
	}
	c.unlink(ent)
	return ent
}

// store saves tokens and a state of stateSize bytes (written by fill,
// which returns the bytes written, 0 on failure) under key for ttl in
// owner's share, evicting the owner's least recently stored entries to
// stay within it. It stores nothing when the entry alone passes the share,
// when every share is taken by other owners, or when the locked budget is
// exhausted: a later request misses, it does not fail.
func (c *prefixCache) store(key *[32]byte, owner uint64, ttl time.Duration, tokens []Token, stateSize int, fill func([]byte) int) {
	if old := c.entries[*key]; old != nil {
		c.remove(old)
	}
	tokBytes := 4 * len(tokens)
	size := int64(tokBytes + stateSize)
	sh := c.owners[owner]
	if stateSize <= 0 || size > c.shareBytes || (sh == nil && len(c.owners) >= c.shareOwners) {
		return
	}
	for sh != nil && (sh.bytes+size > c.shareBytes || sh.lru.Len() >= c.shareEntries) {
		c.remove(sh.lru.Back().Value.(*prefixEntry))
		sh = c.owners[owner] // nil once its last entry left
	}
	buf, err := allocAligned(c.budget, tokBytes+stateSize)
	if err != nil {
		return
	}
	mem := buf.Bytes()
	ent := &prefixEntry{key: *key, owner: owner, buf: buf, tokens: TokensIn(mem[:tokBytes]), state: mem[tokBytes : tokBytes+stateSize]}
	copy(ent.tokens, tokens)
	if fill(ent.state) != stateSize {
		buf.Destroy()
		return
	}
	if ttl <= 0 || ttl > c.maxTTL {
		ttl = c.maxTTL
	}
	ent.expiry = c.now().Add(ttl)
	c.link(ent, size)
}

// link files ent under its key, its owner's share and the expiry heap.
func (c *prefixCache) link(ent *prefixEntry, size int64) {
	sh := c.owners[ent.owner]
	if sh == nil {
		sh = &prefixShare{}
		c.owners[ent.owner] = sh
	}
	ent.elem = sh.lru.PushFront(ent)
	sh.bytes += size
	heap.Push(&c.expiries, ent)
	c.entries[ent.key] = ent
	c.used.Add(size)
}

// unlink takes ent out of the key map, its share and the heap; its
// buffer stays (see drop).
func (c *prefixCache) unlink(ent *prefixEntry) {
	delete(c.entries, ent.key)
	heap.Remove(&c.expiries, ent.index)
	sh := c.owners[ent.owner]
	sh.lru.Remove(ent.elem)
	sh.bytes -= ent.size()
	if sh.lru.Len() == 0 {
		delete(c.owners, ent.owner)
	}
}

func (ent *prefixEntry) size() int64 { return int64(4*len(ent.tokens) + len(ent.state)) }

// drop destroys a taken entry's buffer (zeroed by memguard).
func (c *prefixCache) drop(ent *prefixEntry) {
	c.used.Add(-ent.size())
	ent.buf.Destroy()
}

func (c *prefixCache) remove(ent *prefixEntry) {
	c.unlink(ent)
	c.drop(ent)
}

// expire removes the entries whose time has passed: it looks only at the
// heap's top, so a decode step with nothing expired costs O(1), not a
// walk over every entry.
func (c *prefixCache) expire() {
	now := c.now()
	for len(c.expiries) > 0 && !now.Before(c.expiries[0].expiry) {
		c.remove(c.expiries[0])
	}
}

// nextExpiry returns how long until the first entry expires (ok false
// when the cache is empty), so an idle scheduler wakes to wipe it.
func (c *prefixCache) nextExpiry() (time.Duration, bool) {
	if c == nil || len(c.expiries) == 0 {
		return 0, false
	}
	return max(c.expiries[0].expiry.Sub(c.now()), 0), true
}

// clear removes every entry (shutdown).
func (c *prefixCache) clear() {
	if c == nil {
		return
	}
	for len(c.expiries) > 0 {
		c.remove(c.expiries[0])
	}
}

// expiryHeap orders entries by expiry (container/heap).
type expiryHeap []*prefixEntry

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].expiry.Before(h[j].expiry) }
func (h expiryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *expiryHeap) Push(x any) {
	ent := x.(*prefixEntry)
	ent.index = len(*h)
	*h = append(*h, ent)
}
func (h *expiryHeap) Pop() any {
	old := *h
	ent := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return ent
}

// commonPrefix returns how many leading tokens a and b share.
func commonPrefix(a, b []Token) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}
