// kvwipe.h: zeroing and inspecting llama.cpp's KV cache cells (kvwipe.cpp).
#pragma once

#include <stddef.h>
#include <stdint.h>
#include "llama.h"

#ifdef __cplusplus
extern "C" {
#endif

// sotto_kv_wipeable reports whether mem is a KV cache these functions can
// zero (llama_kv_cache, or the base and SWA caches of llama_kv_cache_iswa).
int sotto_kv_wipeable(llama_memory_t mem);

// sotto_kv_iswa reports whether mem is a sliding-window (iSWA) cache: a
// base and a SWA cache.
int sotto_kv_iswa(llama_memory_t mem);

// sotto_kv_wipe_seq zeroes the K and V bytes (every layer) of each cell
// that holds seq and no other sequence at a position >= p0, and returns
// how many cells it zeroed. The cells stay allocated: call
// llama_memory_seq_rm(mem, seq, p0, -1) afterwards.
int sotto_kv_wipe_seq(llama_memory_t mem, llama_seq_id seq, llama_pos p0);

// sotto_kv_wipe_free zeroes every cell no sequence holds (after a failed
// decode, whose rollback frees cells llama.cpp may have written). The
// wipes give the whole pages they zero back to the kernel
// (MADV_DONTNEED), so zeroing free cells does not make them resident.
int sotto_kv_wipe_free(llama_memory_t mem);

// sotto_kv_release_pages gives the whole pages of every host KV buffer
// back to the kernel (MADV_DONTNEED) and returns their bytes. The buffers
// must hold only zeros, as llama.cpp leaves them when it creates a
// context: a private anonymous page read after MADV_DONTNEED reads as
// zeros, so the cache's contents do not change, but its pages become
// resident only as cells are written.
size_t sotto_kv_release_pages(llama_memory_t mem);

// sotto_kv_resident returns how many bytes of the KV buffers' pages are
// mapped (mincore), and sets *total to their size. Tests only.
size_t sotto_kv_resident(llama_memory_t mem, size_t * total);

// sotto_kv_wipe_all zeroes every byte of the KV buffers and frees every
// cell. It zeroes 2 MiB at a time and gives each zeroed chunk's pages back
// (MADV_DONTNEED), so pages never written since start are not all made
// resident at once, as llama_memory_clear(mem, true)'s single memset would.
void sotto_kv_wipe_all(llama_memory_t mem);

// sotto_kv_size returns the number of cells of the (base) cache, or 0.
int sotto_kv_size(llama_memory_t mem);

// sotto_kv_seq_cells writes up to cap indices of the cells holding seq
// into out and returns how many cells hold it. Tests only.
int sotto_kv_seq_cells(llama_memory_t mem, llama_seq_id seq, int32_t * out, int cap);

// sotto_kv_cell_nonzero returns how many bytes of cell's K and V data
// (every layer) are not zero. Tests only.
size_t sotto_kv_cell_nonzero(llama_memory_t mem, int32_t cell);

#ifdef __cplusplus
}
#endif
