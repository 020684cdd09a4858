// weightpages.h: which of a model's tensors llama.cpp repacked
// (weightpages.cpp).
#pragma once

#include "llama.h"

#ifdef __cplusplus
extern "C" {
#endif

// sotto_model_n_tensors returns the number of the model's weight tensors.
int sotto_model_n_tensors(const struct llama_model * m);

// sotto_model_tensor returns tensor i's name (valid while m lives) and
// sets *repacked when its data lives in a CPU_REPACK buffer: a copy
// rearranged at load, so its bytes in the file's mapping are never read
// again.
const char * sotto_model_tensor(const struct llama_model * m, int i, int * repacked);

#ifdef __cplusplus
}
#endif
