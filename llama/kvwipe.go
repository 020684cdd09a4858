package llama

/*
#cgo CXXFLAGS: -std=c++17
#include "kvwipe.h"
*/
import "C"

import "fmt"

// The KV cache holds, per cell, the keys and values of one token of one
// sequence: with the weights, enough to recover the prompt. llama.cpp's
// llama_memory_seq_rm only marks cells free, so the engine zeroes a
// sequence's cells itself (kvwipe.cpp) whenever a request leaves its slot.

// checkWipeable refuses a model whose memory kvwipe.cpp cannot zero
// (recurrent and hybrid models): the engine would otherwise leave the
// prompt's state in memory after the request.
func (e *Engine) checkWipeable() error {
	if C.sotto_kv_wipeable(e.mem) == 0 {
		return fmt.Errorf("%w: this model's KV memory (recurrent or hybrid) cannot be wiped per request", ErrInvalidModel)
	}
	if C.sotto_kv_iswa(e.mem) != 0 {
		return fmt.Errorf("%w: %w", ErrInvalidModel, ErrSlidingWindow)
	}
	return nil
}

// wipeSeq zeroes the K and V data of every cell seq holds alone, then
// frees the cells. It returns how many cells it zeroed.
func (e *Engine) wipeSeq(seq int32) int { return e.wipeSeqFrom(seq, 0) }

// wipeSeqFrom zeroes and frees seq's cells at positions >= p0 (the tail
// of a conversation kept by the prefix cache).
func (e *Engine) wipeSeqFrom(seq, p0 int32) int {
	n := int(C.sotto_kv_wipe_seq(e.mem, C.llama_seq_id(seq), C.llama_pos(p0)))
	C.llama_memory_seq_rm(e.mem, C.llama_seq_id(seq), C.llama_pos(p0), -1)
	e.wipedCells.Add(uint64(n))
	return n
}

// wipeFree zeroes every cell no sequence holds. A failed llama_decode
// rolls back (frees) the cells of its batch, which it may have written;
// they belong to no sequence any more, so wipeSeq cannot find them.
func (e *Engine) wipeFree() { C.sotto_kv_wipe_free(e.mem) }

// wipeAll zeroes the whole cache (every cell, every layer) and frees it:
// the last thing before the context is freed, whose buffers go back to
// the allocator as they are. Since most of the buffer may never have been
// resident (releaseZeroedKV), it zeroes and gives back 2 MiB at a time
// rather than making the whole cache resident for the moment of shutdown.
func (e *Engine) wipeAll() { C.sotto_kv_wipe_all(e.mem) }

// releaseKVPages gives the KV buffers' pages back once llama.cpp has
// zeroed them (alloc). Tests turn it off to compare.
var releaseKVPages = true

// releaseZeroedKV runs right after the context is created, before any
// request: llama.cpp zeroes its whole KV buffer then ("to avoid NaNs in
// the padding"), which makes every cell of every slot resident (88 MiB for
// 8 slots of 512 cells of a 1.1B model) before a request uses one. Pages
// given back with MADV_DONTNEED read as zeros again, so the cache holds
// the same bytes, and its memory grows with the cells written, as the
// compute buffer's does; a full server holds all of it, as before.
func (e *Engine) releaseZeroedKV() {
	if releaseKVPages {
		e.kvReleased = int64(C.sotto_kv_release_pages(e.mem))
	}
}

// kvResident returns the mapped bytes of the KV buffers and their size.
// Tests only, with the same rule as seqCells.
func (e *Engine) kvResident() (resident, total int64) {
	var t C.size_t
	r := C.sotto_kv_resident(e.mem, &t)
	return int64(r), int64(t)
}

// kvCells returns the number of cells in the cache.
func (e *Engine) kvCells() int { return int(C.sotto_kv_size(e.mem)) }

// seqCells returns the indices of the cells seq holds. Tests only; call
// on the scheduler goroutine (from a Sink) or while the engine is idle.
func (e *Engine) seqCells(seq int32) []int32 {
	n := C.sotto_kv_seq_cells(e.mem, C.llama_seq_id(seq), nil, 0)
	out := make([]int32, int(n))
	if n > 0 {
		C.sotto_kv_seq_cells(e.mem, C.llama_seq_id(seq), (*C.int32_t)(&out[0]), n)
	}
	return out
}

// cellNonZero returns how many bytes of cell's K and V data (all layers)
// are not zero. Tests only, with the same rule as seqCells.
func (e *Engine) cellNonZero(cell int32) int {
	return int(C.sotto_kv_cell_nonzero(e.mem, C.int32_t(cell)))
}
