package replay

import (
	"context"
	"sync"
	"time"
)

// Memory is an in-process Register of bounded size. Expired entries are
// swept lazily, one-second bucket at a time, so each Add and Seen costs
// O(1) amortized. It is safe for concurrent use.
type Memory struct {
	capacity int
	now      func() time.Time

	mu        sync.Mutex
	entries   map[[16]byte]time.Time // rid -> expires
	buckets   map[int64][][16]byte   // ceil(expires) in Unix seconds -> rids
	sweptUpTo int64                  // buckets <= sweptUpTo are gone
}

var (
	_ Register = (*Memory)(nil)
	_ Releaser = (*Memory)(nil)
)

// NewMemory returns an empty register holding at most capacity live
// entries (capacity >= 1).
func NewMemory(capacity int) *Memory {
	return &Memory{
		capacity: max(capacity, 1),
		now:      time.Now,
		entries:  map[[16]byte]time.Time{},
		buckets:  map[int64][][16]byte{},
	}
}

// Seen reports whether rid is registered and not expired.
func (m *Memory) Seen(_ context.Context, rid [16]byte) (bool, error) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep(now)
	exp, ok := m.entries[rid]
	return ok && now.Before(exp), nil
}

// Add registers rid until expires. An expires not after now fails with
// ErrExpired: such a request is already outside the window, and accepting
// it without an entry would accept every copy of it.
func (m *Memory) Add(_ context.Context, rid [16]byte, expires time.Time) error {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep(now)
	if exp, ok := m.entries[rid]; ok && now.Before(exp) {
		return ErrReplay
	}
	if !now.Before(expires) {
		return ErrExpired
	}
	if len(m.entries) >= m.capacity {
		return ErrFull
	}
	m.entries[rid] = expires
	b := ceilUnix(expires)
	m.buckets[b] = append(m.buckets[b], rid)
	return nil
}

// Release removes rid's entry if it expires at expires: the entry Add
// made for that claim (two live claims of one rid cannot exist, and an
// expired one is refused, so rid and expiry name one claim). Its bucket
// entry stays and is dropped when its second passes.
func (m *Memory) Release(_ context.Context, rid [16]byte, expires time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if exp, ok := m.entries[rid]; ok && exp.Equal(expires) {
		delete(m.entries, rid)
	}
	return nil
}

// Len returns the number of registered entries, expired ones not yet
// swept included.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.entries)
}

// Capacity returns the largest number of live entries.
func (m *Memory) Capacity() int { return m.capacity }

// sweep drops every bucket whose second has passed. m.mu is held.
func (m *Memory) sweep(now time.Time) {
	upTo := now.Unix()
	if upTo <= m.sweptUpTo {
		return
	}
	if upTo-m.sweptUpTo > int64(len(m.buckets)) {
		// After a long idle time visiting the buckets is cheaper than
		// visiting every second.
		for sec := range m.buckets {
			if sec <= upTo {
				m.drop(sec, now)
			}
		}
	} else {
		for sec := m.sweptUpTo + 1; sec <= upTo; sec++ {
			m.drop(sec, now)
		}
	}
	m.sweptUpTo = upTo
}

// drop removes the bucket sec and its expired entries. An rid registered
// again with a later expiry sits in a later bucket and is kept.
func (m *Memory) drop(sec int64, now time.Time) {
	for _, rid := range m.buckets[sec] {
		if exp, ok := m.entries[rid]; ok && !now.Before(exp) {
			delete(m.entries, rid)
		}
	}
	delete(m.buckets, sec)
}

func ceilUnix(t time.Time) int64 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}
