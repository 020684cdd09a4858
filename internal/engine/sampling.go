package engine

import "math"

// Sampling selects the next token. The zero value is greedy decoding
// without penalties.
type Sampling struct {
	// Temperature 0 is greedy (argmax); > 0 samples (0 < T <= 5).
	Temperature float32
	// TopK keeps the K most likely tokens (0 = off).
	TopK int
	// TopP keeps the smallest set with cumulative probability >= TopP
	// (0 or 1 = off; else 0 < TopP < 1).
	TopP float32
	// MinP drops tokens below MinP times the top probability (0 = off).
	MinP float32
	// RepeatPenalty divides the logits of recently seen tokens (prompt
	// included); 1 (or 0) is off; allowed 0 < RepeatPenalty <= 10.
	RepeatPenalty float32
	// RepeatLastN is how many recent tokens the penalty looks at
	// (0 = DefaultRepeatLastN; at most the slot context).
	RepeatLastN int
	// Seed seeds the sampler (temperature > 0). The same seed and prompt
	// give the same text, except SeedRandom, with which llama.cpp draws a
	// fresh random seed (the server never passes it for a client's seed).
	Seed uint32
}

// SeedRandom is llama.cpp's LLAMA_DEFAULT_SEED: a sampler seeded with it
// draws its own random seed.
const SeedRandom = 0xFFFFFFFF

// DefaultRepeatLastN is the penalty window when RepeatLastN is 0.
const DefaultRepeatLastN = 64

// Validate checks the ranges; nVocab and ctx bound TopK and RepeatLastN.
// Errors wrap ErrInvalidRequest and name the field, never its value.
func (s *Sampling) Validate(nVocab, ctx int) error {
	bad := func(field string) error { return &RangeError{Field: field} }
	switch {
	case !finite(s.Temperature) || s.Temperature < 0 || s.Temperature > 5:
		return bad("temperature")
	case s.TopK < 0 || s.TopK > nVocab:
		return bad("top_k")
	case !finite(s.TopP) || s.TopP < 0 || s.TopP > 1:
		return bad("top_p")
	case !finite(s.MinP) || s.MinP < 0 || s.MinP > 1:
		return bad("min_p")
	case !finite(s.RepeatPenalty) || s.RepeatPenalty < 0 || s.RepeatPenalty > 10:
		return bad("repeat_penalty")
	case s.RepeatLastN < 0 || s.RepeatLastN > ctx:
		return bad("repeat_last_n")
	}
	return nil
}

func finite(f float32) bool { return !math.IsNaN(float64(f)) && !math.IsInf(float64(f), 0) }

// RangeError is a sampling field out of the engine's range (top_k above
// the vocabulary, say). It wraps ErrInvalidRequest; Field is the field's
// name, never its value.
type RangeError struct{ Field string }

func (e *RangeError) Error() string {
	return ErrInvalidRequest.Error() + ": sampling " + e.Field + " out of range"
}

func (e *RangeError) Unwrap() error { return ErrInvalidRequest }
