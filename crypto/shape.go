package crypto

import (
	"encoding/base64"
	"unicode/utf8"
)

// Shaped streams (protocol section 5.5): every frame after the nonce event
// has one plaintext size, FramePlaintextSize, so one ciphertext size and
// one SSE line length; the final chunk is recognised only inside the
// ciphertext, and padding frames fill the stream to the end of its length
// bucket. Which frames carry text, which one is final and when generation
// ended are hidden from anyone who sees only the bytes and their timing.
const (
	// FramePlaintextSize is every shaped frame's plaintext size: room for
	// FramePlaintextSize-12 bytes of escaped text, and for the longest
	// final chunk (about 140 bytes).
	FramePlaintextSize = 256
	// FrameCiphertextSize is FramePlaintextSize plus the AEAD tag.
	FrameCiphertextSize = FramePlaintextSize + Nt
	// MinShapeFrames is the smallest length bucket, in frames.
	MinShapeFrames = 16
	// ShapeConstant is the value of the inner request's "shape" member.
	ShapeConstant = "constant"
	// EventNonceShaped is the first event's type in a shaped stream.
	EventNonceShaped = "nonce-shaped"
)

// aadShaped is every shaped frame's AAD: it binds the framing, so a legacy
// chunk read as a shaped frame (or the reverse) does not decrypt.
var aadShaped = []byte("shaped")

// ShapeFrames returns a shaped stream's frame count when its final chunk
// is frame finalIndex: the length bucket, the smallest power of two that
// is at least MinShapeFrames and more than finalIndex.
func ShapeFrames(finalIndex uint64) uint64 {
	n := uint64(MinShapeFrames)
	for n <= finalIndex {
		n <<= 1
	}
	return n
}

// ShapedNonceEvent appends the first event of a shaped stream.
func (s *StreamSealer) ShapedNonceEvent(dst []byte) []byte {
	dst = append(dst, "event: "+EventNonceShaped+"\ndata: "...)
	dst = base64.RawURLEncoding.AppendEncode(dst, s.rnonce[:])
	return append(dst, "\n\n"...)
}

// Frames returns the number of chunks or frames sealed so far.
func (s *StreamSealer) Frames() uint64 { return s.i }

// SealFrame appends one shaped frame carrying the longest prefix of text
// (valid UTF-8) that fits, whole runes only, and returns how many bytes of
// text it took. With no text (or none that fits, which only a rune longer
// than a frame could cause) it is a padding frame: FramePlaintextSize zero
// bytes. Padding frames may also follow the final frame.
func (s *StreamSealer) SealFrame(dst []byte, text []byte) ([]byte, int, error) {
	if s.closed {
		return dst, 0, ErrStreamClosed
	}
	if s.finished && len(text) > 0 {
		return dst, 0, ErrStreamClosed
	}
	if !utf8.Valid(text) {
		return dst, 0, ErrDeltaUTF8
	}
	n := framePrefix(text, FramePlaintextSize-deltaOverhead)
	w := 0
	if n > 0 {
		buf := s.scratch.Bytes()
		w = copy(buf, `{"delta":"`)
		w = appendEscaped(buf, w, text[:n])
		w += copy(buf[w:], `"}`)
	}
	return s.sealFrame(dst, w), n, nil
}

// SealFinalFrame appends the final chunk as a shaped frame. Only padding
// frames may follow it.
func (s *StreamSealer) SealFinalFrame(dst []byte, f Final) ([]byte, error) {
	w, err := s.finalPlaintext(f)
	if err != nil {
		return dst, err
	}
	return s.sealFrame(dst, w), nil
}

// sealFrame pads the n plaintext bytes in the scratch buffer to the frame
// size, seals them with aad "shaped" and appends `data: <b64u>` and a blank
// line: no id, no event type, the same length for every frame.
func (s *StreamSealer) sealFrame(dst []byte, n int) []byte {
	buf := s.scratch.Bytes()
	clear(buf[n:FramePlaintextSize])
	s.nonceI = chunkNonce(&s.nonce, s.i)
	ct := s.aead.Seal(buf[:0], s.nonceI[:], buf[:FramePlaintextSize], aadShaped)
	dst = append(dst, "data: "...)
	dst = base64.RawURLEncoding.AppendEncode(dst, ct)
	s.i++
	return append(dst, "\n\n"...)
}

// framePrefix returns the length of the longest prefix of text, ending on
// a rune boundary, whose JSON escaping takes at most room bytes.
func framePrefix(text []byte, room int) int {
	n, used := 0, 0
	for n < len(text) {
		_, size := utf8.DecodeRune(text[n:])
		esc := size
		if c := text[n]; c == '"' || c == '\\' {
			esc = 2
		} else if c < 0x20 {
			esc = escapedControlLen(c)
		}
		if used+esc > room {
			break
		}
		used += esc
		n += size
	}
	return n
}

func escapedControlLen(c byte) int {
	switch c {
	case '\n', '\r', '\t', '\b', '\f':
		return 2
	}
	return 6
}
