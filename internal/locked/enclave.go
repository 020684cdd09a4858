package locked

import (
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/awnumar/memguard"
)

// Enclave holds a long-lived secret encrypted in memory (memguard's
// Enclave: XSalsa20-Poly1305 under a key memguard keeps split across
// guarded, locked pages). Between uses the secret exists only as
// ciphertext; Budget.Open decrypts it into a locked, read-only Buffer for
// one use. An Enclave is safe for concurrent use: each Open makes its own
// Buffer.
type Enclave struct {
	e    *memguard.Enclave
	size int
}

// ErrSealed is returned by Budget.Open for a nil Enclave.
var ErrSealed = errors.New("locked: no enclave")

// Seal moves buf's contents into a new Enclave and destroys buf.
func Seal(buf *Buffer) *Enclave {
	size := buf.Len()
	e := memguard.NewEnclave(buf.Bytes()) // wipes buf's contents
	buf.Destroy()
	return &Enclave{e: e, size: size}
}

// SealBytes moves p into a new Enclave and wipes p: for a secret that
// arrived on the heap (for example derived from a shared secret file).
func SealBytes(p []byte) *Enclave {
	size := len(p)
	return &Enclave{e: memguard.NewEnclave(p), size: size}
}

// Size returns the secret's length in bytes.
func (e *Enclave) Size() int { return e.size }

// openOverhead is the locked page memguard allocates, while it opens an
// enclave, for its own copy of the enclave key.
var openOverhead = Cost(32)

// OpenCost is the most locked memory Budget.Open takes for a secret of
// size bytes.
func OpenCost(size int) int64 { return Cost(size) + openOverhead }

// Open decrypts e into a new locked, read-only Buffer charged to b. The
// caller destroys it as soon as the secret has been used. Writing to its
// Bytes faults.
func (b *Budget) Open(e *Enclave) (*Buffer, error) {
	if e == nil || e.e == nil {
		return nil, ErrSealed
	}
	cost := Cost(e.size)
	if err := b.reserve(cost + openOverhead); err != nil {
		return nil, err
	}
	lb, err := e.e.Open()
	b.release(openOverhead) // memguard destroyed its key copy before returning
	if err != nil {
		b.release(cost)
		return nil, fmt.Errorf("locked: open enclave: %w", err)
	}
	return &Buffer{lb: lb, cost: cost, budget: b}, nil
}

// Use opens e for the duration of f, which must not keep secret or copy
// it to the heap, and destroys the opened buffer when f returns.
func (b *Budget) Use(e *Enclave, f func(secret []byte)) error {
	buf, err := b.Open(e)
	if err != nil {
		return err
	}
	defer buf.Destroy()
	f(buf.Bytes())
	return nil
}

// NewRandomEnclave seals size random bytes, drawn into a locked buffer
// charged to b (released once sealed).
func (b *Budget) NewRandomEnclave(size int) (*Enclave, error) {
	buf, err := b.Alloc(size)
	if err != nil {
		return nil, err
	}
	_, _ = rand.Read(buf.Bytes()) // crypto/rand.Read never fails; it crashes the process instead
	return Seal(buf), nil
}
