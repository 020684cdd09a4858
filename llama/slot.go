package llama

/*
#include "llama.h"
static void sotto_accept(struct llama_sampler * s, const llama_token * t, int n) {
	for (int i = 0; i < n; i++) llama_sampler_accept(s, t[i]);
}

// sotto_accept_zeros feeds token 0 n times: the penalties sampler keeps
// its last n tokens in a ring buffer on the C heap, which llama_sampler_free
// releases without clearing.
static void sotto_accept_zeros(struct llama_sampler * s, int n) {
	for (int i = 0; i < n; i++) llama_sampler_accept(s, 0);
}
*/
import "C"

import (
	"context"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/sottolabs/sotto/internal/locked"
)

// job is one Generate call as the scheduler sees it. Fields other than
// res/err/done are read-only once queued.
type job struct {
	ctx       context.Context
	req       *Request
	sink      Sink
	tokBuf    *locked.Buffer // locked prompt tokens
	prompt    []Token        // view into tokBuf
	maxTokens int
	start     time.Time // Generate call
	admitted  time.Time // moved from the queue into a slot
	first     time.Time // first sampled token
	res       Result
	err       error
	done      chan struct{}
	left      atomic.Bool // its place among the requests in flight is given back (Engine.leave)
}

func (j *job) release() { j.tokBuf.Destroy() }

type slotState uint8

const (
	slotIdle slotState = iota
	slotPrefill
	slotGenerate
)

// slot is one llama.cpp sequence. Owned by the scheduler goroutine.
type slot struct {
	seq       int32
	state     slotState
	job       *job
	chain     *C.struct_llama_sampler
	penaltyN  int   // tokens the chain's penalties sampler remembers (0: none)
	nPast     int32 // tokens of this sequence in the KV cache
	next      int   // next prompt token to decode
	pending   int   // prompt tokens in the current batch
	last      Token // last sampled token, fed back next step
	outIdx    int32 // batch row with this slot's logits, -1 if none
	generated int
	cached    int // prompt tokens restored from the prefix cache
	out       streamer
	scratch   *locked.Buffer // backs out.piece, out.hold, out.out
}

// newSlotScratch allocates the slot's locked streaming buffers.
func (s *slot) initScratch(budget *locked.Budget) error {
	buf, err := budget.Alloc(pieceCap + holdCap + outCap)
	if err != nil {
		return err
	}
	mem := buf.Bytes()
	s.scratch = buf
	s.out.piece = mem[:pieceCap:pieceCap]
	s.out.hold = mem[pieceCap : pieceCap+holdCap : pieceCap+holdCap]
	s.out.out = mem[pieceCap+holdCap:]
	return nil
}

// begin binds j to the slot: a fresh sampler chain (primed with the
// prompt's tail when a repeat penalty looks back at it) and stop strings.
func (s *slot) begin(j *job) {
	s.job, s.state = j, slotPrefill
	s.nPast, s.next, s.pending, s.generated, s.outIdx, s.cached = 0, 0, 0, 0, -1, 0
	s.chain = newChain(&j.req.Sampling)
	s.penaltyN = 0
	if p := j.req.Sampling.RepeatPenalty; p != 0 && p != 1 {
		lastN := j.req.Sampling.RepeatLastN
		if lastN == 0 {
			lastN = DefaultRepeatLastN
		}
		s.penaltyN = max(lastN, 0)
		tail := j.prompt[max(0, len(j.prompt)-lastN):]
		C.sotto_accept(s.chain, (*C.llama_token)(unsafe.Pointer(&tail[0])), C.int(len(tail)))
	}
	s.out.reset(j.req.Stop)
}

// end releases the per-request state and returns the finished job.
func (s *slot) end() *job {
	j := s.job
	if s.chain != nil {
		C.sotto_accept_zeros(s.chain, C.int(s.penaltyN))
		C.llama_sampler_free(s.chain)
		s.chain = nil
	}
	s.out.reset(nil)
	clear(s.out.piece)
	s.job, s.state, s.last = nil, slotIdle, 0
	return j
}
