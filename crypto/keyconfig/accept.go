package keyconfig

import (
	"bytes"
	"crypto/ed25519"
	"time"
)

// MaxClockSkew is how far in the future a document's issued_at may lie.
const MaxClockSkew = 60 * time.Second

// Accept applies a client's rules to candidate, the JSON of a document
// received from the server (GET /api/pubkey or the key_config member of a
// 422 problem), while the client holds held (nil when it holds nothing).
// It returns the document to hold from now on, or an error wrapping one of:
// ErrMalformed or ErrTimeFormat (form), ErrUnpinned, ErrSignature,
// ErrExpired (now >= expires), ErrFuture (issued_at > now + MaxClockSkew),
// ErrRollback (issued_at before held's), ErrConflict (same issued_at as
// held, different signed bytes). On error the client keeps held.
//
// held must itself have been returned by Accept; it is not re-verified.
func Accept(held *Document, candidate []byte, pinned ed25519.PublicKey, now time.Time) (*Document, error) {
	d, err := Parse(candidate)
	if err != nil {
		return nil, err
	}
	if err := d.Verify(pinned); err != nil {
		return nil, err
	}
	if !now.Before(d.Expires) {
		return nil, ErrExpired
	}
	if d.IssuedAt.After(now.Add(MaxClockSkew)) {
		return nil, ErrFuture
	}
	if held == nil {
		return d, nil
	}
	switch {
	case d.IssuedAt.Before(held.IssuedAt):
		return nil, ErrRollback
	case d.IssuedAt.Equal(held.IssuedAt):
		return sameIssuedAt(held, d)
	}
	return d, nil
}

// sameIssuedAt accepts d only when it signs the same bytes as held: a
// server never publishes two different documents in the same second.
func sameIssuedAt(held, d *Document) (*Document, error) {
	a, err := held.TBS()
	if err != nil {
		return nil, err
	}
	b, err := d.TBS()
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(a, b) {
		return nil, ErrConflict
	}
	return d, nil
}
