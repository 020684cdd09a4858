package crypto

import "errors"

// Request padding: the inner request is padded with 0x00 to the next power
// of two, at least MinRequestPadded and at most MaxRequestPadded bytes, so
// that a request's size reveals only its bucket.
const (
	MinRequestPadded = 256
	MaxRequestPadded = 256 << 10
)

// DefaultPadQuantum is the default response chunk pad quantum.
const DefaultPadQuantum = 64

// ErrPadding is returned by the padding helpers for input that cannot be
// padded (empty, ending in 0x00, or too long).
var ErrPadding = errors.New("crypto: cannot pad")

// RequestPaddedLen returns the padded length of an n-byte inner request:
// the next power of two >= n, at least MinRequestPadded. ok is false when n
// is 0 or the result would exceed MaxRequestPadded.
func RequestPaddedLen(n int) (padded int, ok bool) {
	if n < 1 || n > MaxRequestPadded {
		return 0, false
	}
	p := MinRequestPadded
	for p < n {
		p <<= 1
	}
	return p, true
}

// validPaddedLen reports whether n is a padded request length: a power of
// two in [MinRequestPadded, MaxRequestPadded].
func validPaddedLen(n int) bool {
	return n >= MinRequestPadded && n <= MaxRequestPadded && n&(n-1) == 0
}

// PadRequest appends inner and its 0x00 padding to dst.
func PadRequest(dst, inner []byte) ([]byte, error) {
	p, ok := RequestPaddedLen(len(inner))
	if !ok || inner[len(inner)-1] == 0 {
		return dst, ErrPadding
	}
	dst = append(dst, inner...)
	return append(dst, make([]byte, p-len(inner))...), nil
}

// unpadRequest returns the length of the inner request in a padded
// plaintext, or ok false when the padding rule is broken: the length must
// be valid, the content non-empty and padded to exactly the next bucket
// (a larger bucket would be a length the sender chose, not the rule).
func unpadRequest(p []byte) (n int, ok bool) {
	if !validPaddedLen(len(p)) {
		return 0, false
	}
	n = stripZeros(p)
	want, ok := RequestPaddedLen(n)
	if !ok || want != len(p) {
		return 0, false
	}
	return n, true
}

// stripZeros returns the length of p without its trailing 0x00 bytes.
func stripZeros(p []byte) int {
	n := len(p)
	for n > 0 && p[n-1] == 0 {
		n--
	}
	return n
}

// ChunkPaddedLen returns n rounded up to a multiple of quantum (quantum
// >= 1).
func ChunkPaddedLen(n, quantum int) int {
	if quantum < 1 {
		quantum = 1
	}
	return (n + quantum - 1) / quantum * quantum
}
