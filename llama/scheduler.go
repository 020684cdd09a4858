package llama

/*
#include "llama.h"
*/
import "C"

import (
	"fmt"
	"time"
)

// run is the scheduler goroutine: it admits queued jobs into free slots
// between steps, drops cancelled ones, and decodes all active slots in
// one llama_decode per step.
func (e *Engine) run() {
	defer close(e.stopped)
	for {
		// Sleep only when there is nothing to run and nothing queued: the
		// wake channel holds one signal however many jobs were queued, so
		// jobs still waiting after a slot frees must not wait for it.
		if len(e.order) == 0 && e.queued.Load() == 0 {
			select {
			case <-e.wake:
			case <-e.expiryTimer():
			case done := <-e.reclaim:
				e.reclaimPrefix(done)
			case <-e.quit:
				e.shutdown()
				return
			}
		} else {
			select {
			case <-e.quit:
				e.shutdown()
				return
			case done := <-e.reclaim:
				e.reclaimPrefix(done)
			default:
			}
		}
		e.admitQueued()
		e.dropCancelled()
		if len(e.order) > 0 {
			e.step()
		}
	}
}

// admitQueued moves queued jobs into free slots.
func (e *Engine) admitQueued() {
	if e.prefix != nil {
		e.prefix.expire()
	}
	for len(e.order) < len(e.slots) {
		j := e.pop() // counted busy from here
		if j == nil {
			return
		}
		if j.ctx.Err() != nil {
			e.leave(j)
			e.busy.Add(-1)
			e.complete(j, Result{PromptTokens: len(j.prompt), Finish: FinishCancelled}, j.ctx.Err())
			continue
		}
		for i := range e.slots {
			s := &e.slots[i]
			if s.state != slotIdle {
				continue
			}
			// Defensive: a slot's sequence is always empty when idle.
			e.wipeSeq(s.seq)
			j.admitted = time.Now()
			s.begin(j)
			e.reusePrefix(s)
			e.order = append(e.order, i)
			break
		}
	}
}

// dropCancelled frees the slots of requests whose context is done, so
// they leave before the next decode step.
func (e *Engine) dropCancelled() {
	for _, i := range e.order {
		s := &e.slots[i]
		if err := s.job.ctx.Err(); err != nil {
			e.finish(s, FinishCancelled, err)
		}
	}
	e.compact()
}

// step builds one batch (a token from every generating slot, then prompt
// chunks in admission order up to BatchSize), decodes it and samples.
func (e *Engine) step() {
	b := e.batch
	for _, i := range e.order {
		s := &e.slots[i]
		s.outIdx, s.pending = -1, 0
		if s.state == slotGenerate {
			s.outIdx = int32(b.n)
			if !b.add(s.last, s.nPast, s.seq, true) {
				e.finish(s, FinishError, fmt.Errorf("%w: batch bounds", ErrDecode))
			}
		}
	}
	decodes := b.n
	e.addPrompts(e.promptRoom(b.cap, decodes))
	if e.stepProbe != nil {
		e.stepProbe(decodes, b.n-decodes)
	}
	e.compact()
	if b.n == 0 {
		return
	}
	rc := b.decode(e.ctx)
	e.steps.Add(1)
	if rc != 0 {
		e.failBatch(int(rc))
		return
	}
	for _, i := range e.order {
		s := &e.slots[i]
		s.nPast += int32(s.pending)
		e.prefilled.Add(uint64(s.pending))
		s.next += s.pending
		if s.state == slotGenerate && s.outIdx >= 0 {
			s.nPast++
		}
		if s.outIdx >= 0 {
			e.sample(s)
		}
	}
	e.compact()
	e.updateKV()
}

// promptRoom is how many prompt tokens a step takes after its decodes
// (one token per generating stream) in a batch of capacity tokens.
func (e *Engine) promptRoom(capacity, decodes int) int {
	room := min(capacity-decodes, e.cfg.PromptChunk)
	if t := e.cfg.StepTokens; t > 0 && decodes > 0 {
		room = min(room, max(t-decodes, t/4, 1))
	}
	return room
}

// addPrompts fills room with prefilling slots' prompt tokens in admission
// order, splitting a prompt only when it is the step's first: a prompt
// that would be split although it fits whole into a later step instead
// waits, and later prompts that fit whole take the room. A split prompt's
// tokens delay everything in their step without giving anyone a first
// token; packing whole prompts lets more requests finish their prefill
// per step (a lower median time to first token for bursts of short
// prompts, docs/benchmarks.md). The oldest prefilling slot still moves
// every step, so nothing starves.
func (e *Engine) addPrompts(room int) {
	added := 0
	for _, i := range e.order {
		s := &e.slots[i]
		if s.state != slotPrefill || room == 0 {
			continue
		}
		if rest := len(s.job.prompt) - s.next; rest > room && added > 0 {
			continue
		}
		k := e.addPrompt(s, room)
		room -= k
		added += k
	}
}

// addPrompt adds up to room of s's remaining prompt tokens and returns
// how many; logits are requested for the prompt's last token only.
func (e *Engine) addPrompt(s *slot, room int) int {
	b := e.batch
	k := min(len(s.job.prompt)-s.next, room)
	for i := range k {
		last := s.next+i == len(s.job.prompt)-1
		if last {
			s.outIdx = int32(b.n)
		}
		if !b.add(s.job.prompt[s.next+i], s.nPast+int32(i), s.seq, last) {
			e.finish(s, FinishError, fmt.Errorf("%w: batch bounds", ErrDecode))
			return 0
		}
	}
	s.pending = k
	return k
}

// sample picks s's next token from its logits row and streams its text.
func (e *Engine) sample(s *slot) {
	j := s.job
	tok := Token(C.llama_sampler_sample(s.chain, e.ctx, C.int32_t(s.outIdx)))
	if s.state == slotPrefill {
		j.first = time.Now()
	}
	s.state = slotGenerate
	if !e.m.validToken(tok) {
		e.finish(s, FinishError, fmt.Errorf("%w: sampler returned an invalid token", ErrDecode))
		return
	}
	if !j.req.IgnoreEOS && bool(C.llama_vocab_is_eog(e.m.vocab, C.llama_token(tok))) {
		e.end(s, FinishStop)
		return
	}
	s.generated++
	n, err := e.m.piece(tok, s.out.piece, false)
	if err != nil {
		e.finish(s, FinishError, fmt.Errorf("%w: token text too long", ErrDecode))
		return
	}
	stopped, err := s.out.push(s.out.piece[:n], j.sink)
	clear(s.out.piece[:n])
	switch {
	case err != nil:
		e.finish(s, FinishCancelled, fmt.Errorf("llama: sink: %w", err))
	case stopped:
		e.finish(s, FinishStop, nil)
	case s.generated >= j.maxTokens:
		e.end(s, FinishLength)
	default:
		s.last = tok
	}
}

// end flushes held-back text and finishes s with reason.
func (e *Engine) end(s *slot, reason FinishReason) {
	if err := s.out.flush(s.job.sink); err != nil {
		e.finish(s, FinishCancelled, fmt.Errorf("llama: sink: %w", err))
		return
	}
	e.finish(s, reason, nil)
}

// finish ends s's job: its KV cells are zeroed and freed, its sampler's
// token history overwritten and freed, its scratch wiped, and Generate is
// woken. The slot leaves e.order at the next compact.
func (e *Engine) finish(s *slot, reason FinishReason, err error) {
	if s.state == slotIdle {
		return
	}
	if err == nil {
		e.keepPrefix(s, reason)
	}
	e.wipeSeq(s.seq)
	e.kvUsed.Add(-int64(s.nPast))
	res := Result{PromptTokens: len(s.job.prompt), CompletionTokens: s.generated, Finish: reason, CachedTokens: s.cached}
	j := s.end()
	e.leave(j)
	e.busy.Add(-1)
	e.complete(j, res, err)
}

func (e *Engine) complete(j *job, res Result, err error) {
	e.leave(j)
	res.Total = time.Since(j.start)
	if !j.first.IsZero() {
		res.FirstToken = j.first.Sub(j.start)
	}
	if !j.admitted.IsZero() {
		res.QueueWait = j.admitted.Sub(j.start)
	} else {
		res.QueueWait = res.Total // never left the queue
	}
	j.res, j.err = res, err
	close(j.done)
}

// failBatch ends every slot that had tokens in a failed decode.
func (e *Engine) failBatch(rc int) {
	for _, i := range e.order {
		s := &e.slots[i]
		if s.pending > 0 || s.outIdx >= 0 {
			e.finish(s, FinishError, fmt.Errorf("%w: llama_decode returned %d", ErrDecode, rc))
		}
	}
	e.wipeFree()
	e.compact()
	e.updateKV()
}

// compact removes finished slots from e.order, keeping admission order.
func (e *Engine) compact() {
	n := 0
	for _, i := range e.order {
		if e.slots[i].state != slotIdle {
			e.order[n] = i
			n++
		}
	}
	e.order = e.order[:n]
}

func (e *Engine) updateKV() {
	var used int64
	for _, i := range e.order {
		used += int64(e.slots[i].nPast)
	}
	e.kvUsed.Store(used)
}

// shutdown ends running and queued jobs with ErrClosed and frees the
// context. Enqueue refuses new jobs once closed is set.
func (e *Engine) shutdown() {
	for _, i := range e.order {
		e.finish(&e.slots[i], FinishCancelled, ErrClosed)
	}
	e.compact()
	for j := e.pop(); j != nil; j = e.pop() {
		e.complete(j, Result{PromptTokens: len(j.prompt), Finish: FinishCancelled}, ErrClosed)
	}
	e.kvUsed.Store(0)
	e.prefix.clear()
	e.wipeAll()
	if e.shutdownProbe != nil {
		e.shutdownProbe()
	}
	e.free()
}
