package crypto

import (
	"crypto/cipher"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"

	"github.com/sottolabs/sotto/internal/locked"
)

// MaxDeltaBytes is the most text one delta chunk carries. SealDelta splits
// longer text, at rune boundaries, into several chunks.
const MaxDeltaBytes = 4096

// MaxPadQuantum bounds the response pad quantum.
const MaxPadQuantum = 4096

// Errors of the stream sealer.
var (
	ErrEmptyDelta   = errors.New("crypto: empty delta")
	ErrDeltaUTF8    = errors.New("crypto: delta is not valid UTF-8")
	ErrFinal        = errors.New("crypto: invalid final chunk")
	ErrStreamClosed = errors.New("crypto: stream already finished")
	ErrPadQuantum   = errors.New("crypto: pad quantum out of range")
)

// Finish reasons of the final chunk.
const (
	FinishStop      = "stop"
	FinishLength    = "length"
	FinishCancelled = "cancelled"
	FinishError     = "error"
)

// Final is the content of the final chunk. ErrorCode is set exactly when
// Reason is FinishError; it is a short code ([a-z0-9_], at most 64 bytes)
// and never carries request or reply content.
type Final struct {
	Reason           string
	PromptTokens     int
	CompletionTokens int
	ErrorCode        string
}

// StreamSealer seals a response into SSE events: the nonce event, delta
// chunks and one final chunk. It is used from a single goroutine (the
// engine's token sink). Plaintext is JSON-escaped and padded in a locked
// scratch buffer owned by the sealer; Close wipes and releases it.
type StreamSealer struct {
	aead     cipher.AEAD
	nonce    [Nn]byte
	nonceI   [Nn]byte // scratch for nonce_i, kept here so it does not escape
	rnonce   [ResponseNonceSize]byte
	i        uint64
	quantum  int
	scratch  *locked.Buffer
	finished bool
	closed   bool // Close ran: even padding frames are refused
}

// deltaOverhead is len(`{"delta":""}`).
const deltaOverhead = 12

// StreamScratchSize is the size of the locked scratch buffer a
// StreamSealer allocates for padQuantum (0: DefaultPadQuantum), for
// servers that estimate a request's locked memory before admitting it.
func StreamScratchSize(padQuantum int) int {
	if padQuantum == 0 {
		padQuantum = DefaultPadQuantum
	}
	return scratchSize(padQuantum)
}

// scratchSize is the largest padded chunk plus its tag: a delta of
// MaxDeltaBytes control characters each escaped to 6 bytes.
func scratchSize(quantum int) int {
	return ChunkPaddedLen(deltaOverhead+6*MaxDeltaBytes, quantum) + Nt
}

var aadFinalBytes = []byte(aadFinal)

// NewStreamSealer draws a response nonce from rand, derives the response
// key and nonce from o's exporter secret, and allocates the locked scratch
// buffer from budget (ErrOverloaded when full). padQuantum 0 means
// DefaultPadQuantum.
func NewStreamSealer(o *Opened, rand io.Reader, padQuantum int, budget *locked.Budget) (*StreamSealer, error) {
	if padQuantum == 0 {
		padQuantum = DefaultPadQuantum
	}
	if padQuantum < 1 || padQuantum > MaxPadQuantum {
		return nil, ErrPadQuantum
	}
	s := &StreamSealer{quantum: padQuantum}
	if _, err := io.ReadFull(rand, s.rnonce[:]); err != nil {
		return nil, fmt.Errorf("crypto: response nonce: %w", err)
	}
	aead, nonce, err := responseKeys(o.Enc(), s.rnonce[:], o.exporterSecret())
	if err != nil {
		return nil, fmt.Errorf("crypto: response keys: %w", err)
	}
	s.aead, s.nonce = aead, nonce
	s.scratch, err = budget.Alloc(scratchSize(padQuantum))
	if err != nil {
		if errors.Is(err, locked.ErrExhausted) {
			return nil, ErrOverloaded
		}
		return nil, fmt.Errorf("crypto: stream scratch: %w", err)
	}
	return s, nil
}

// ResponseNonce returns the response nonce (public).
func (s *StreamSealer) ResponseNonce() []byte { return s.rnonce[:] }

// NonceEvent appends the SSE nonce event, which must precede every chunk.
func (s *StreamSealer) NonceEvent(dst []byte) []byte {
	dst = append(dst, "event: nonce\ndata: "...)
	dst = base64.RawURLEncoding.AppendEncode(dst, s.rnonce[:])
	return append(dst, "\n\n"...)
}

// SealDelta appends one SSE event per MaxDeltaBytes of text, each a sealed
// non-final chunk {"delta":"<text>"} padded to the quantum. text must be
// non-empty valid UTF-8 (the caller holds back a partial rune until the
// next token completes it). It does not allocate when dst has capacity.
func (s *StreamSealer) SealDelta(dst []byte, text []byte) ([]byte, error) {
	if s.finished {
		return dst, ErrStreamClosed
	}
	if len(text) == 0 {
		return dst, ErrEmptyDelta
	}
	if !utf8.Valid(text) {
		return dst, ErrDeltaUTF8
	}
	for len(text) > 0 {
		n := runePrefix(text, MaxDeltaBytes)
		buf := s.scratch.Bytes()
		w := copy(buf, `{"delta":"`)
		w = appendEscaped(buf, w, text[:n])
		w += copy(buf[w:], `"}`)
		dst = s.sealChunk(dst, w, false)
		text = text[n:]
	}
	return dst, nil
}

// runePrefix returns the length of the longest prefix of p of at most max
// bytes that ends on a rune boundary (p is valid UTF-8).
func runePrefix(p []byte, max int) int {
	if len(p) <= max {
		return len(p)
	}
	n := max
	for n > 0 && !utf8.RuneStart(p[n]) {
		n--
	}
	return n
}

// SealFinal appends the final chunk (event type "final", aad "final").
// After it, the sealer refuses further chunks.
func (s *StreamSealer) SealFinal(dst []byte, f Final) ([]byte, error) {
	w, err := s.finalPlaintext(f)
	if err != nil {
		return dst, err
	}
	return s.sealChunk(dst, w, true), nil
}

// finalPlaintext writes f's JSON into the scratch buffer, returns its
// length and closes the sealer to further text.
func (s *StreamSealer) finalPlaintext(f Final) (int, error) {
	if s.finished {
		return 0, ErrStreamClosed
	}
	if err := f.validate(); err != nil {
		return 0, err
	}
	s.finished = true
	return writeFinal(s.scratch.Bytes(), f), nil
}

// writeFinal writes the final chunk's JSON for f (validated) at the start
// of buf and returns its length.
func writeFinal(buf []byte, f Final) int {
	w := copy(buf, `{"finish_reason":"`)
	w += copy(buf[w:], f.Reason)
	w += copy(buf[w:], `","usage":{"prompt_tokens":`)
	w += len(strconv.AppendUint(buf[w:w], uint64(f.PromptTokens), 10))
	w += copy(buf[w:], `,"completion_tokens":`)
	w += len(strconv.AppendUint(buf[w:w], uint64(f.CompletionTokens), 10))
	w += copy(buf[w:], `}`)
	if f.Reason == FinishError {
		w += copy(buf[w:], `,"error":{"code":"`)
		w += copy(buf[w:], f.ErrorCode)
		w += copy(buf[w:], `"}`)
	}
	w += copy(buf[w:], `}`)
	return w
}

// sealChunk pads the n plaintext bytes in the scratch buffer, seals them in
// place (the plaintext is overwritten by ciphertext) and appends the SSE
// event.
func (s *StreamSealer) sealChunk(dst []byte, n int, final bool) []byte {
	buf := s.scratch.Bytes()
	p := ChunkPaddedLen(n, s.quantum)
	clear(buf[n:p])
	s.nonceI = chunkNonce(&s.nonce, s.i)
	var aad []byte
	if final {
		aad = aadFinalBytes
	}
	ct := s.aead.Seal(buf[:0], s.nonceI[:], buf[:p], aad)
	dst = append(dst, "id: "...)
	dst = strconv.AppendUint(dst, s.i, 10)
	if final {
		dst = append(dst, "\nevent: final"...)
	}
	dst = append(dst, "\ndata: "...)
	dst = base64.RawURLEncoding.AppendEncode(dst, ct)
	s.i++
	return append(dst, "\n\n"...)
}

// Close wipes and releases the scratch buffer. The sealer is unusable
// afterwards; Close is safe to call more than once.
func (s *StreamSealer) Close() {
	s.scratch.Destroy()
	s.finished, s.closed = true, true
}

func (f Final) validate() error {
	switch f.Reason {
	case FinishStop, FinishLength, FinishCancelled:
		if f.ErrorCode != "" {
			return fmt.Errorf("%w: error code without finish_reason error", ErrFinal)
		}
	case FinishError:
		if !validErrorCode(f.ErrorCode) {
			return fmt.Errorf("%w: error code must be 1..64 bytes of [a-z0-9_]", ErrFinal)
		}
	default:
		return fmt.Errorf("%w: unknown finish reason", ErrFinal)
	}
	if f.PromptTokens < 0 || f.CompletionTokens < 0 {
		return fmt.Errorf("%w: negative token count", ErrFinal)
	}
	return nil
}

func validErrorCode(c string) bool {
	if len(c) < 1 || len(c) > 64 {
		return false
	}
	for i := 0; i < len(c); i++ {
		b := c[i]
		if (b < 'a' || b > 'z') && (b < '0' || b > '9') && b != '_' {
			return false
		}
	}
	return true
}
