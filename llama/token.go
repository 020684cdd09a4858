package llama

/*
#include "llama.h"
*/
import "C"

import (
	"fmt"
	"math"
	"unsafe"
)

// TokensIn reinterprets b (for example a locked buffer's bytes) as a token
// slice of len(b)/4 elements, so token ids of a prompt can live in locked
// memory. It returns nil when b is shorter than a token or not 4-byte
// aligned. (memguard puts a buffer's data flush against the following
// guard page: a locked buffer whose size is a multiple of 4 is aligned.)
func TokensIn(b []byte) []Token {
	if len(b) < 4 || uintptr(unsafe.Pointer(&b[0]))%4 != 0 {
		return nil
	}
	return unsafe.Slice((*Token)(unsafe.Pointer(&b[0])), len(b)/4)
}

// Tokenize converts text into tokens written to dst and returns how many.
// text and dst are caller-owned (typically locked memory) and are passed
// straight to C; no copy or Go string is made. addSpecial adds BOS/EOS as
// the model is configured to; parseSpecial turns special-token text (such
// as "<|user|>") into the special tokens. If dst is too small the error
// wraps ErrTooManyTokens and n is the number of tokens needed.
func (m *Model) Tokenize(text []byte, dst []Token, addSpecial, parseSpecial bool) (int, error) {
	if m.closed.Load() {
		return 0, ErrClosed
	}
	if len(text) > math.MaxInt32 || len(dst) > math.MaxInt32 {
		return 0, fmt.Errorf("%w: input too large", ErrTooManyTokens)
	}
	var tp *C.char
	if len(text) > 0 {
		tp = (*C.char)(unsafe.Pointer(&text[0]))
	}
	var dp *C.llama_token
	if len(dst) > 0 {
		dp = (*C.llama_token)(unsafe.Pointer(&dst[0]))
	}
	n := C.llama_tokenize(m.vocab, tp, C.int32_t(len(text)), dp, C.int32_t(len(dst)),
		C.bool(addSpecial), C.bool(parseSpecial))
	if n == math.MinInt32 {
		return 0, fmt.Errorf("%w: token count overflows int32", ErrTooManyTokens)
	}
	if n < 0 {
		return int(-n), ErrTooManyTokens
	}
	return int(n), nil
}

// TokenPiece writes the text of token tok into dst and returns its length.
// With special false, control tokens (BOS, EOS, ...) render as nothing.
// The piece may be a partial UTF-8 sequence (byte-fallback tokens). If dst
// is too small the error wraps ErrBufferTooSmall and n is the needed size.
func (m *Model) TokenPiece(tok Token, dst []byte, special bool) (int, error) {
	if m.closed.Load() {
		return 0, ErrClosed
	}
	if !m.validToken(tok) {
		return 0, ErrInvalidToken
	}
	return m.piece(tok, dst, special)
}

// piece is TokenPiece without the checks, for the scheduler's hot path
// (tokens there come from the sampler, hence valid).
func (m *Model) piece(tok Token, dst []byte, special bool) (int, error) {
	var dp *C.char
	if len(dst) > 0 {
		dp = (*C.char)(unsafe.Pointer(&dst[0]))
	}
	n := C.llama_token_to_piece(m.vocab, C.llama_token(tok), dp, C.int32_t(min(len(dst), math.MaxInt32)), 0, C.bool(special))
	if n < 0 {
		return int(-n), ErrBufferTooSmall
	}
	return int(n), nil
}

// Detokenize writes the text of tokens into dst and returns its length.
// removeSpecial drops a leading BOS / trailing EOS the model adds;
// unparseSpecial renders special tokens as text. Every id is validated
// before the C call. If dst is too small the error wraps
// ErrBufferTooSmall and n is the needed size.
func (m *Model) Detokenize(tokens []Token, dst []byte, removeSpecial, unparseSpecial bool) (int, error) {
	if m.closed.Load() {
		return 0, ErrClosed
	}
	if len(tokens) > math.MaxInt32 || len(dst) > math.MaxInt32 {
		return 0, ErrBufferTooSmall
	}
	for _, t := range tokens {
		if !m.validToken(t) {
			return 0, ErrInvalidToken
		}
	}
	var tp *C.llama_token
	if len(tokens) > 0 {
		tp = (*C.llama_token)(unsafe.Pointer(&tokens[0]))
	}
	var dp *C.char
	if len(dst) > 0 {
		dp = (*C.char)(unsafe.Pointer(&dst[0]))
	}
	n := C.llama_detokenize(m.vocab, tp, C.int32_t(len(tokens)), dp, C.int32_t(len(dst)),
		C.bool(removeSpecial), C.bool(unparseSpecial))
	if n < 0 {
		return int(-n), ErrBufferTooSmall
	}
	return int(n), nil
}

// IsEOG reports whether tok ends generation (EOS, EOT, ...).
func (m *Model) IsEOG(tok Token) bool {
	return m.validToken(tok) && bool(C.llama_vocab_is_eog(m.vocab, C.llama_token(tok)))
}

// IsControl reports whether tok is a control token (BOS, EOS, chat
// markers) rather than text.
func (m *Model) IsControl(tok Token) bool {
	return m.validToken(tok) && bool(C.llama_vocab_is_control(m.vocab, C.llama_token(tok)))
}
