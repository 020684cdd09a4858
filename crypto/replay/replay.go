// Package replay keeps the register of request ids (rid) that makes every
// sealed request single-use (docs/protocol.md section 4, steps 5, 6, 10).
//
// The server first checks the request's ts against the window (CheckTime,
// 400 #date), then asks the register whether the rid was seen (Seen, 400
// #replay), and only after the request decrypted registers the rid until
// ts + window (Add), so that a forged request cannot block a genuine rid
// and a future-dated request cannot be replayed once the window has moved.
// Add is the authoritative check: of two identical requests racing past
// Seen, exactly one Add succeeds and the other fails with ErrReplay.
//
// Register is the seam between the server and a register's storage:
// Memory serves a single process; package redisreplay keeps the register
// in Redis for several nodes, with Add as an atomic set-if-absent with
// expiry (SET rid 1 NX PXAT expires).
package replay

import (
	"context"
	"errors"
	"time"
)

// Errors of the register. None of them carries the rid.
var (
	// ErrReplay is returned by Add for a rid registered and not expired.
	ErrReplay = errors.New("replay: request id already registered")
	// ErrFull is returned by Add when the register holds its capacity of
	// live entries; live entries are never evicted (503 #overloaded).
	ErrFull = errors.New("replay: register full")
	// ErrStale is returned by CheckTime for a ts outside the window.
	ErrStale = errors.New("replay: request time outside the window")
	// ErrExpired is returned by Add for an entry whose expiry has passed:
	// the request left the window while it was being received or checked
	// (a slowly sent body), and registering nothing would let every copy
	// of it through (400 #date).
	ErrExpired = errors.New("replay: request expired before it was registered")
)

// Register records request ids until they expire. Implementations are safe
// for concurrent use.
type Register interface {
	// Seen reports whether rid is registered and not expired.
	Seen(ctx context.Context, rid [16]byte) (bool, error)
	// Add registers rid until expires (exclusive). It fails with
	// ErrReplay when rid is registered and not expired, with ErrExpired
	// when expires is not after the register's clock, and with ErrFull
	// when there is no room; it never evicts a live entry.
	Add(ctx context.Context, rid [16]byte, expires time.Time) error
}

// Releaser is a Register whose entries can be withdrawn: the blind
// router claims a rid before any worker has judged the request, and
// releases the claim when every worker refused it before registering it
// (docs/protocol.md section 12).
type Releaser interface {
	// Release removes rid's entry only if it is the one Add made with
	// expires (an entry made by another claim since is kept); removing
	// nothing is not an error.
	Release(ctx context.Context, rid [16]byte, expires time.Time) error
}

// DefaultWindow is the protocol's REQUEST_TTL_SECONDS.
const DefaultWindow = 60 * time.Second

// CheckTime returns ErrStale when the request time ts is more than window
// away from now, in either direction (client clocks run fast and slow).
func CheckTime(ts, now time.Time, window time.Duration) error {
	d := now.Sub(ts)
	if d > window || d < -window {
		return ErrStale
	}
	return nil
}

// Expiry returns how long a request with time ts stays registered: until
// ts + window, not arrival + window, so a future-dated request cannot be
// replayed after the window moved past its arrival. CheckTime accepts
// arrival = ts + window exactly, so the entry lives one millisecond (the
// resolution of ts) beyond it: every accepted arrival finds it.
func Expiry(ts time.Time, window time.Duration) time.Time {
	return ts.Add(window + time.Millisecond)
}

// NewMemoryClock is NewMemory on the clock now, which must be the clock
// the server checks the window against (tests with a settable clock).
func NewMemoryClock(capacity int, now func() time.Time) *Memory {
	m := NewMemory(capacity)
	if now != nil {
		m.now = now
	}
	return m
}
