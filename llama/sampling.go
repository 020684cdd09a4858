package llama

/*
#include "llama.h"
*/
import "C"

import (
	"fmt"
	"math"
)

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
	// (0 = 64; at most the slot context).
	RepeatLastN int
	// Seed seeds the sampler (temperature > 0). The same seed and prompt
	// give the same text.
	Seed uint32
}

const defaultRepeatLastN = 64

func finite(f float32) bool { return !math.IsNaN(float64(f)) && !math.IsInf(float64(f), 0) }

// validate checks the ranges; nVocab and ctx bound TopK and RepeatLastN.
func (s *Sampling) validate(nVocab, ctx int) error {
	bad := func(field string) error { return fmt.Errorf("%w: sampling %s out of range", ErrInvalidRequest, field) }
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

// newChain builds the llama.cpp sampler chain for s: penalties, then
// greedy when Temperature is 0, else top_k, top_p, min_p, temp and dist.
// The caller frees it with llama_sampler_free.
func newChain(s *Sampling) *C.struct_llama_sampler {
	cp := C.llama_sampler_chain_default_params()
	cp.no_perf = true
	chain := C.llama_sampler_chain_init(cp)
	if s.RepeatPenalty != 0 && s.RepeatPenalty != 1 {
		lastN := s.RepeatLastN
		if lastN == 0 {
			lastN = defaultRepeatLastN
		}
		C.llama_sampler_chain_add(chain, C.llama_sampler_init_penalties(C.int32_t(lastN), C.float(s.RepeatPenalty), 0, 0))
	}
	if s.Temperature == 0 {
		C.llama_sampler_chain_add(chain, C.llama_sampler_init_greedy())
		return chain
	}
	if s.TopK > 0 {
		C.llama_sampler_chain_add(chain, C.llama_sampler_init_top_k(C.int32_t(s.TopK)))
	}
	if s.TopP > 0 && s.TopP < 1 {
		C.llama_sampler_chain_add(chain, C.llama_sampler_init_top_p(C.float(s.TopP), 1))
	}
	if s.MinP > 0 {
		C.llama_sampler_chain_add(chain, C.llama_sampler_init_min_p(C.float(s.MinP), 1))
	}
	C.llama_sampler_chain_add(chain, C.llama_sampler_init_temp(C.float(s.Temperature)))
	C.llama_sampler_chain_add(chain, C.llama_sampler_init_dist(C.uint32_t(s.Seed)))
	return chain
}
