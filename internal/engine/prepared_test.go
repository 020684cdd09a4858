package engine

import (
	"errors"
	"testing"
)

// TestPreparedRelease: Release frees once, is nil-safe, and leaves no
// tokens behind.
func TestPreparedRelease(t *testing.T) {
	frees := 0
	p := NewPrepared([]Token{1, 2, 3}, 7, func() { frees++ })
	if p.PromptTokens != 3 || p.MaxTokens != 7 || len(p.Tokens()) != 3 {
		t.Fatalf("prepared %+v", p)
	}
	p.Release()
	p.Release()
	(*Prepared)(nil).Release()
	if frees != 1 || p.Tokens() != nil {
		t.Fatalf("frees %d, tokens %v after Release", frees, p.Tokens())
	}
	if err := (&Request{Prepared: p}).ValidateShape(8); err != nil {
		t.Fatalf("a prepared request needs no prompt: %v", err)
	}
}

// TestRangeError: a sampling refusal names its field and is
// ErrInvalidRequest.
func TestRangeError(t *testing.T) {
	err := (&Sampling{TopK: 600}).Validate(512, 64)
	var re *RangeError
	if !errors.As(err, &re) || re.Field != "top_k" || !errors.Is(err, ErrInvalidRequest) {
		t.Fatalf("err = %v", err)
	}
}
