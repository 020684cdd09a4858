package llama

/*
#include "llama.h"
*/
import "C"

import "unsafe"

// A sequence's state (its cells' positions, K and V) can be copied out of
// the KV cache and back with llama.cpp's state API. The bytes are as
// secret as the cells: callers keep them in locked memory (benchmarks
// excepted, whose prompts are synthetic) and wipe them after use. Call on
// the scheduler goroutine, or while the engine is idle.

// seqStateSize returns how many bytes saveSeq needs for seq.
func (e *Engine) seqStateSize(seq int32) int {
	return int(C.llama_state_seq_get_size(e.ctx, C.llama_seq_id(seq)))
}

// saveSeq copies seq's state into dst and returns its length, or 0 when
// dst is too small.
func (e *Engine) saveSeq(seq int32, dst []byte) int {
	if len(dst) == 0 {
		return 0
	}
	return int(C.llama_state_seq_get_data(e.ctx, (*C.uint8_t)(unsafe.Pointer(&dst[0])), C.size_t(len(dst)), C.llama_seq_id(seq)))
}

// restoreSeq zeroes seq's cells, then loads the state saveSeq wrote into
// free cells of seq; false (and seq empty, every free cell zeroed) when
// it does not fit or does not match the model. llama.cpp reads src in
// place (no copy).
func (e *Engine) restoreSeq(seq int32, src []byte) bool {
	if len(src) == 0 {
		return false
	}
	e.wipeSeq(seq)
	n := C.llama_state_seq_set_data(e.ctx, (*C.uint8_t)(unsafe.Pointer(&src[0])), C.size_t(len(src)), C.llama_seq_id(seq))
	if int(n) != len(src) {
		// A failed read frees the cells it had written (seq_rm) without
		// zeroing them.
		e.wipeSeq(seq)
		e.wipeFree()
		return false
	}
	return true
}
