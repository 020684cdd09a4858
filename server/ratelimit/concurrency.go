package ratelimit

import "sync"

// Concurrency bounds the requests in flight per key (streams per device).
// Keys with nothing in flight take no memory; at most maxKeys keys are
// tracked at once, and a new key beyond that is refused (fail closed).
type Concurrency struct {
	max     int
	maxKeys int

	mu     sync.Mutex
	active map[string]int
}

// NewConcurrency allows perKey concurrent holders per key for at most maxKeys
// keys at a time. Both must be positive.
func NewConcurrency(perKey, maxKeys int) *Concurrency {
	return &Concurrency{max: perKey, maxKeys: maxKeys, active: make(map[string]int)}
}

// Acquire takes one slot for key. When ok, the caller must call release
// exactly when the request ends; extra calls to release do nothing.
func (c *Concurrency) Acquire(key string) (release func(), ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, held := c.active[key]
	if n >= c.max || (!held && len(c.active) >= c.maxKeys) {
		return nil, false
	}
	c.active[key] = n + 1
	var once sync.Once
	return func() { once.Do(func() { c.release(key) }) }, true
}

func (c *Concurrency) release(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := c.active[key]; n > 1 {
		c.active[key] = n - 1
		return
	}
	delete(c.active, key)
}

// InFlight returns the number of slots key holds.
func (c *Concurrency) InFlight(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.active[key]
}
