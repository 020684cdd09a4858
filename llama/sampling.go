package llama

/*
#include "llama.h"
*/
import "C"

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
			lastN = DefaultRepeatLastN
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
