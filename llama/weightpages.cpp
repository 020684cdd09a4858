// weightpages.cpp lists the tensors llama.cpp repacked at load.
//
// With mmap, llama.cpp maps the whole GGUF file; a tensor whose type the
// CPU backend repacks (Q4_0 into 8x8 interleaved blocks, say) is copied
// into a CPU_REPACK buffer and read from there, yet its original pages
// stay resident in the mapping: about the model's size twice. llama.h does
// not say where a tensor lives; llama_model::tensors_by_name (a public
// member of the internal header, from the same pinned sources that are
// compiled into the binary) and the buffer type's name do.

#include <cstring>

#include "weightpages.h"
#include "../src/llama-model.h"
#include "ggml-backend.h"

int sotto_model_n_tensors(const struct llama_model * m) {
    return (int) m->tensors_by_name.size();
}

const char * sotto_model_tensor(const struct llama_model * m, int i, int * repacked) {
    const auto & p = m->tensors_by_name.at(i);
    *repacked = 0;
    if (p.second != nullptr && p.second->buffer != nullptr) {
        const char * name = ggml_backend_buft_name(ggml_backend_buffer_get_type(p.second->buffer));
        *repacked = name != nullptr && std::strcmp(name, "CPU_REPACK") == 0;
    }
    return p.first.c_str();
}
