package llama

/*
#include "llama.h"
*/
import "C"

import (
	"unsafe"

	"github.com/sottolabs/sotto/internal/locked"
)

// batch is a llama_batch whose arrays live in one locked buffer (they hold
// prompt token ids), built once per Engine and reused every step. Only
// the scheduler goroutine touches it.
type batch struct {
	buf    *locked.Buffer
	c      C.struct_llama_batch
	tok    []Token
	pos    []int32
	nSeq   []int32
	seq    []int32
	logits []int8
	n, cap int
	// Bounds checked by add before anything reaches llama_decode.
	maxPos, maxSeq int32
}

// newBatch lays out capacity tokens: seq_id pointers first (8-aligned),
// then token, pos, n_seq_id, seq storage and logits.
func newBatch(budget *locked.Budget, capacity int, maxPos, maxSeq int32) (*batch, error) {
	const ptr = int(unsafe.Sizeof(uintptr(0)))
	size := capacity * (ptr + 4*4 + 1)
	buf, err := allocAligned(budget, size)
	if err != nil {
		return nil, err
	}
	mem := buf.Bytes()
	base := unsafe.Pointer(&mem[0])
	at := func(off int) unsafe.Pointer { return unsafe.Add(base, off) }
	b := &batch{buf: buf, cap: capacity, maxPos: maxPos, maxSeq: maxSeq}
	seqPtrs := unsafe.Slice((**C.llama_seq_id)(base), capacity)
	off := capacity * ptr
	b.tok = unsafe.Slice((*Token)(at(off)), capacity)
	b.c.token = (*C.llama_token)(at(off))
	off += 4 * capacity
	b.pos = unsafe.Slice((*int32)(at(off)), capacity)
	b.c.pos = (*C.llama_pos)(at(off))
	off += 4 * capacity
	b.nSeq = unsafe.Slice((*int32)(at(off)), capacity)
	b.c.n_seq_id = (*C.int32_t)(at(off))
	off += 4 * capacity
	b.seq = unsafe.Slice((*int32)(at(off)), capacity)
	for i := range capacity {
		seqPtrs[i] = (*C.llama_seq_id)(at(off + 4*i))
		b.nSeq[i] = 1
	}
	off += 4 * capacity
	b.logits = unsafe.Slice((*int8)(at(off)), capacity)
	b.c.logits = (*C.int8_t)(at(off))
	b.c.seq_id = (**C.llama_seq_id)(base)
	return b, nil
}

// add appends one token; it refuses (false) anything llama.cpp would
// assert on: a full batch, a position past the slot context, a bad
// sequence id.
func (b *batch) add(t Token, pos, seq int32, logits bool) bool {
	if b.n >= b.cap || pos < 0 || pos >= b.maxPos || seq < 0 || seq >= b.maxSeq {
		return false
	}
	b.tok[b.n], b.pos[b.n], b.seq[b.n] = t, pos, seq
	b.logits[b.n] = 0
	if logits {
		b.logits[b.n] = 1
	}
	b.n++
	return true
}

// decode runs llama_decode on the batch and wipes its token ids.
func (b *batch) decode(ctx *C.struct_llama_context) C.int32_t {
	b.c.n_tokens = C.int32_t(b.n)
	rc := C.llama_decode(ctx, b.c)
	clear(b.tok[:b.n])
	b.n = 0
	return rc
}

func (b *batch) free() { b.buf.Destroy() }
