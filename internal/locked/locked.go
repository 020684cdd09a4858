// Package locked allocates buffers for secrets and plaintext in mlock'ed,
// guard-paged memory (github.com/awnumar/memguard) under a byte budget.
//
// memguard panics, and purges every locked buffer in the process (private
// keys included), when mlock fails. Every allocation of secret memory in
// Sotto therefore goes through a Budget, which refuses with ErrExhausted
// before the kernel's RLIMIT_MEMLOCK is reached, so callers can answer
// "overloaded" instead of crashing.
//
// A Budget is safe for concurrent use. A Buffer is owned by one goroutine
// at a time; Destroy wipes it and returns its pages to the budget.
package locked

import (
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/awnumar/memguard"
)

// ErrExhausted is returned when an allocation would exceed the budget.
var ErrExhausted = errors.New("locked: locked-memory budget exhausted")

var pageSize = int64(os.Getpagesize())

// Cost is the number of mlock'ed bytes memguard uses for a buffer of n
// bytes: the data (with its canary) rounded up to whole pages. The two
// guard pages around it are mapped but not locked.
func Cost(n int) int64 {
	if n < 1 {
		n = 1
	}
	return (int64(n) + pageSize - 1) / pageSize * pageSize
}

// Budget counts locked bytes in use against a limit.
type Budget struct {
	mu    sync.Mutex
	limit int64
	inUse int64
	peak  int64
}

// Unlimited is the limit of a budget that never refuses, for processes
// whose mlock has no limit (root, or CAP_IPC_LOCK).
const Unlimited int64 = -1

// NewBudget returns a budget of limit bytes, or an unlimited one for
// Unlimited (any negative limit).
func NewBudget(limit int64) *Budget {
	return &Budget{limit: limit}
}

// Limit returns the budget's limit in bytes (negative: unlimited).
func (b *Budget) Limit() int64 { return b.limit }

// InUse returns the locked bytes currently held through this budget.
func (b *Budget) InUse() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.inUse
}

// Peak returns the largest InUse seen.
func (b *Budget) Peak() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.peak
}

// ResetPeak forgets the peak: Peak returns InUse until it grows again.
// Tests measure one operation's peak with it.
func (b *Budget) ResetPeak() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.peak = b.inUse
}

// reserve takes cost bytes from the budget, or fails with ErrExhausted.
func (b *Budget) reserve(cost int64) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.limit >= 0 && b.inUse+cost > b.limit {
		return ErrExhausted
	}
	b.inUse += cost
	if b.inUse > b.peak {
		b.peak = b.inUse
	}
	return nil
}

func (b *Budget) release(cost int64) {
	b.mu.Lock()
	b.inUse -= cost
	b.mu.Unlock()
}

// Alloc returns a zeroed, locked, mutable buffer of n bytes (n >= 1).
func (b *Budget) Alloc(n int) (*Buffer, error) {
	if n < 1 {
		return nil, fmt.Errorf("locked: invalid size %d", n)
	}
	cost := Cost(n)
	if err := b.reserve(cost); err != nil {
		return nil, err
	}
	lb := memguard.NewBuffer(n)
	if lb.Size() != n {
		b.release(cost)
		return nil, ErrExhausted
	}
	return &Buffer{lb: lb, cost: cost, budget: b}, nil
}

// Buffer is a locked buffer charged to a Budget.
type Buffer struct {
	lb     *memguard.LockedBuffer
	cost   int64
	budget *Budget
}

// Bytes returns the buffer's memory. The slice is valid until Destroy; it
// lives outside the Go heap and may be passed to C.
func (b *Buffer) Bytes() []byte { return b.lb.Bytes() }

// Len returns the buffer's size in bytes.
func (b *Buffer) Len() int { return b.lb.Size() }

// Wipe zeroes the buffer's contents without releasing it.
func (b *Buffer) Wipe() { b.lb.Wipe() }

// Destroy wipes the buffer, unmaps it and returns its cost to the budget.
// Destroy on a nil or destroyed Buffer does nothing.
func (b *Buffer) Destroy() {
	if b == nil || b.lb == nil {
		return
	}
	b.lb.Destroy()
	b.lb = nil
	b.budget.release(b.cost)
}

// Wipe zeroes p. Use it on heap slices that briefly held secrets (for
// example a library's freshly returned plaintext, right after copying it
// into a Buffer).
func Wipe(p []byte) {
	clear(p)
}
