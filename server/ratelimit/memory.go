package ratelimit

import (
	"container/list"
	"context"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Memory is an in-process Limiter: a token bucket per key holding at most
// burst tokens and refilled at perMinute/60 tokens a second. For deciding
// "allow or refuse, and when to retry" this is equivalent to GCRA (a
// token bucket and GCRA admit exactly the same request sequences) and to a
// sliding window that allows burst requests at once and perMinute a
// minute sustained. A refused request takes no token, so a client that
// backs off for RetryAfter is allowed again.
//
// The number of keys is bounded. A key whose bucket has been idle long
// enough to refill completely carries no state worth keeping, so it is
// swept first. When the table is full of keys still refilling, a new key
// evicts the least recently used one, whose bucket is the most refilled:
// a flood of distinct keys (many IPv6 /64s, many devices) can never lock
// new clients out. Eviction only hands the evicted key a full bucket
// again; an attacker gains nothing from it that its own new keys, each
// with a full bucket, did not already give it.
type Memory struct {
	limit   rate.Limit
	burst   int
	maxKeys int
	idle    time.Duration // time to refill an empty bucket completely

	mu      sync.Mutex
	entries map[string]*list.Element // of *entry
	lru     list.List                // least recently used at the front
}

type entry struct {
	key  string
	lim  *rate.Limiter
	last time.Time
}

var _ Limiter = (*Memory)(nil)

// sweepPerCall bounds the idle keys one Allow removes, so its cost stays
// constant; the rest go on later calls or through Sweep.
const sweepPerCall = 8

// NewMemory returns a limiter allowing perMinute requests a minute with
// bursts of burst, for at most maxKeys keys. All three must be positive.
func NewMemory(perMinute, burst, maxKeys int) *Memory {
	limit := rate.Limit(float64(perMinute) / 60)
	idle := time.Duration(math.Ceil(float64(burst) / float64(limit) * float64(time.Second)))
	return &Memory{
		limit: limit, burst: burst, maxKeys: maxKeys, idle: idle,
		entries: make(map[string]*list.Element),
	}
}

// Allow takes one token from key's bucket at now. It never returns an
// error.
func (m *Memory) Allow(_ context.Context, key string, now time.Time) (Decision, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep(now, sweepPerCall)
	e := m.lookup(key, now)
	e.last = now
	r := e.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return Decision{RetryAfter: d}, nil
	}
	return Decision{Allowed: true, Remaining: int(math.Floor(e.lim.TokensAt(now)))}, nil
}

// lookup returns key's entry, creating it (evicting the least recently
// used key when the table is full), and marks it most recently used.
func (m *Memory) lookup(key string, now time.Time) *entry {
	if el, ok := m.entries[key]; ok {
		m.lru.MoveToBack(el)
		return el.Value.(*entry)
	}
	if len(m.entries) >= m.maxKeys {
		oldest := m.lru.Front()
		m.lru.Remove(oldest)
		delete(m.entries, oldest.Value.(*entry).key)
	}
	e := &entry{key: key, lim: rate.NewLimiter(m.limit, m.burst), last: now}
	m.entries[key] = m.lru.PushBack(e)
	return e
}

// Sweep removes every key idle at now. Allow sweeps a few keys itself;
// call Sweep from a ticker to return memory sooner after a burst of keys.
func (m *Memory) Sweep(now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep(now, math.MaxInt)
}

// sweep removes up to n idle keys, oldest first. Called with m.mu held.
func (m *Memory) sweep(now time.Time, n int) {
	for ; n > 0 && m.lru.Len() > 0; n-- {
		front := m.lru.Front()
		e := front.Value.(*entry)
		if now.Sub(e.last) < m.idle {
			return
		}
		m.lru.Remove(front)
		delete(m.entries, e.key)
	}
}

// Len returns the number of keys held.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.entries)
}
