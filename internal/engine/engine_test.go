package engine

import (
	"errors"
	"math"
	"testing"
)

// TestValidateShape: each malformed request is ErrInvalidRequest, a
// well-formed one passes.
func TestValidateShape(t *testing.T) {
	p := []byte("hi")
	long := make([]byte, MaxStopLen+1)
	for name, r := range map[string]*Request{
		"nil":            nil,
		"empty":          {},
		"negative max":   {Prompt: p, MaxTokens: -1},
		"max over cap":   {Prompt: p, MaxTokens: 101},
		"too many stops": {Prompt: p, Stop: make([][]byte, MaxStops+1)},
		"empty stop":     {Prompt: p, Stop: [][]byte{{}}},
		"long stop":      {Prompt: p, Stop: [][]byte{long}},
		"invalid utf-8":  {Prompt: p, Stop: [][]byte{{0xff}}},
	} {
		if err := r.ValidateShape(100); !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("%s: err = %v, want ErrInvalidRequest", name, err)
		}
	}
	ok := &Request{Messages: []Message{{Role: RoleUser, Content: p}}, MaxTokens: 100, Stop: [][]byte{[]byte("x")}}
	if err := ok.ValidateShape(100); err != nil {
		t.Fatalf("valid request: %v", err)
	}
}

// TestSamplingValidate: every field's range is enforced and named.
func TestSamplingValidate(t *testing.T) {
	nan := float32(math.NaN())
	for want, s := range map[string]Sampling{
		"temperature":    {Temperature: 5.5},
		"top_k":          {TopK: 33},
		"top_p":          {TopP: nan},
		"min_p":          {MinP: -0.1},
		"repeat_penalty": {RepeatPenalty: 11},
		"repeat_last_n":  {RepeatLastN: 65},
	} {
		err := s.Validate(32, 64)
		if !errors.Is(err, ErrInvalidRequest) || err.Error() != "engine: invalid request: sampling "+want+" out of range" {
			t.Errorf("%s: err = %v", want, err)
		}
	}
	if err := (&Sampling{Temperature: 0.8, TopK: 32, TopP: 0.9, MinP: 0.05, RepeatPenalty: 1.1, RepeatLastN: 64}).Validate(32, 64); err != nil {
		t.Fatal(err)
	}
}

// TestFinishReasonString: the names the sealed final chunk carries.
func TestFinishReasonString(t *testing.T) {
	for f, want := range map[FinishReason]string{FinishStop: "stop", FinishLength: "length",
		FinishCancelled: "cancelled", FinishError: "error", 0: "unknown"} {
		if f.String() != want {
			t.Errorf("%d: %q, want %q", f, f.String(), want)
		}
	}
}
