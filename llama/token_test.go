package llama

import (
	"errors"
	"slices"
	"testing"
	"unsafe"

	"github.com/sottolabs/sotto/internal/testenv"
)

// The Llama-2 SentencePiece vocabulary: llama-2-tiny-random (weights) and
// the vocab-only phi-3 file give the same ids for plain text.
func TestTokenizeRoundTrip(t *testing.T) {
	text := []byte("Hello world, ça va?")
	want := []Token{1, 15043, 3186, 29892, 29871, 4277, 2947, 29973}
	for _, tc := range []struct {
		file      string
		vocabOnly bool
	}{{"llama-2-tiny-random.gguf", false}, {"ggml-vocab-phi-3.gguf", true}, {"ggml-vocab-llama-spm.gguf", true}} {
		t.Run(tc.file, func(t *testing.T) {
			m, err := LoadModel(testenv.Model(t, tc.file), ModelParams{VocabOnly: tc.vocabOnly})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			dst := make([]Token, 32)
			n, err := m.Tokenize(text, dst, true, false)
			if err != nil || !slices.Equal(dst[:n], want) {
				t.Fatalf("Tokenize = %v, %v; want %v", dst[:n], err, want)
			}
			out := make([]byte, 64)
			// Without the BOS, llama.cpp strips the SentencePiece
			// leading space, giving back the exact input.
			k, err := m.Detokenize(dst[1:n], out, false, false)
			if err != nil || string(out[:k]) != string(text) {
				t.Fatalf("Detokenize = %q, %v; want %q", out[:k], err, text)
			}
			// Pieces concatenate to the text after the SentencePiece
			// leading space.
			var joined []byte
			for _, tok := range dst[1:n] {
				p := make([]byte, 16)
				k, err := m.TokenPiece(tok, p, false)
				if err != nil {
					t.Fatal(err)
				}
				joined = append(joined, p[:k]...)
			}
			if string(joined) != " "+string(text) {
				t.Fatalf("pieces = %q, want %q", joined, " "+string(text))
			}
		})
	}
}

func TestTokenizeErrors(t *testing.T) {
	m := stories(t)
	text := []byte("Once upon a time")
	n, err := m.Tokenize(text, make([]Token, 2), true, false)
	if !errors.Is(err, ErrTooManyTokens) || n != 5 {
		t.Errorf("Tokenize into 2 = %d, %v; want 5, ErrTooManyTokens", n, err)
	}
	for _, tok := range []Token{-1, 512, 1 << 30} {
		if _, err := m.TokenPiece(tok, make([]byte, 8), false); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("TokenPiece(%d) = %v, want ErrInvalidToken", tok, err)
		}
		if _, err := m.Detokenize([]Token{1, tok}, make([]byte, 8), false, false); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("Detokenize(%d) = %v, want ErrInvalidToken", tok, err)
		}
	}
	dst := make([]Token, 8)
	n, _ = m.Tokenize(text, dst, false, false)
	if k, err := m.TokenPiece(dst[n-1], make([]byte, 1), false); !errors.Is(err, ErrBufferTooSmall) || k != 5 {
		t.Errorf("TokenPiece into 1 byte = %d, %v; want 5, ErrBufferTooSmall", k, err)
	}
}

func TestTokensIn(t *testing.T) {
	backing := make([]Token, 4) // 4-byte aligned bytes
	b := unsafe.Slice((*byte)(unsafe.Pointer(&backing[0])), 16)[:10]
	ts := TokensIn(b)
	if len(ts) != 2 {
		t.Fatalf("len = %d, want 2", len(ts))
	}
	ts[1] = 0x01020304
	if !slices.Equal(b[4:8], []byte{4, 3, 2, 1}) {
		t.Fatalf("bytes = %v", b[4:8])
	}
	if TokensIn(b[:3]) != nil {
		t.Fatal("TokensIn of 3 bytes is not nil")
	}
	if TokensIn(b[1:]) != nil {
		t.Fatal("TokensIn of a misaligned slice is not nil")
	}
}
