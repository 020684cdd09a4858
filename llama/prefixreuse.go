package llama

import (
	"context"
	"time"
)

// The engine side of the prefix cache (prefixcache.go): a request with a
// PrefixKey starts from the cells of its conversation's previous prompt
// and, when it ends well, leaves its own prompt's cells for the next turn.

// reusePrefix restores the conversation's saved state into s's sequence
// and keeps the longest common token prefix with the new prompt, leaving
// at least the prompt's last token to decode (its logits start the
// reply). The entry is destroyed either way. Called right after begin.
func (e *Engine) reusePrefix(s *slot) {
	j := s.job
	if e.prefix == nil || j.req.PrefixKey == nil {
		return
	}
	ent := e.prefix.take(j.req.PrefixKey)
	if ent == nil {
		return
	}
	defer e.prefix.drop(ent)
	keep := min(commonPrefix(ent.tokens, j.prompt), len(j.prompt)-1)
	if keep <= 0 || !e.restoreSeq(s.seq, ent.state) {
		e.wipeSeq(s.seq) // a miss: the request prefills everything
		return
	}
	e.wipeSeqFrom(s.seq, int32(keep))
	s.nPast, s.next, s.cached = int32(keep), keep, keep
	e.cached.Add(uint64(keep))
}

// keepPrefix saves the prompt's cells of s's request under its key. The
// generated tokens' cells are zeroed first: the next turn's prompt holds
// the reply as the template renders it, which may tokenize differently.
func (e *Engine) keepPrefix(s *slot, reason FinishReason) {
	j := s.job
	if e.prefix == nil || j.req.PrefixKey == nil || s.next < len(j.prompt) ||
		(reason != FinishStop && reason != FinishLength) {
		return
	}
	e.wipeSeqFrom(s.seq, int32(len(j.prompt)))
	e.prefix.store(j.req.PrefixKey, j.req.PrefixOwner, j.req.PrefixTTL, j.prompt, e.seqStateSize(s.seq),
		func(dst []byte) int { return e.saveSeq(s.seq, dst) })
}

// expiryTimer returns a channel that fires when the first cached entry
// expires (nil when the cache is empty), so an idle scheduler wakes to
// wipe it.
func (e *Engine) expiryTimer() <-chan time.Time {
	d, ok := e.prefix.nextExpiry()
	if !ok {
		return nil
	}
	return time.After(d)
}

// ReclaimPrefixCache empties the conversation cache (every entry of every
// device, wiped) and returns true once its locked memory is free, so
// that admission can use it instead of refusing a request (issue 17,
// item 3). All entries go, not the oldest: which entries survive a
// partial reclaim would depend on other devices' sizes. It returns false
// at once when there is no cache or nothing in it, and when ctx ends or
// the engine closes first.
func (e *Engine) ReclaimPrefixCache(ctx context.Context) bool {
	if e.prefix == nil || e.prefix.used.Load() == 0 {
		return false
	}
	done := make(chan struct{})
	select {
	case e.reclaim <- done:
	case <-ctx.Done():
		return false
	case <-e.stopped:
		return false
	}
	select {
	case <-done:
		return true
	case <-ctx.Done():
		return false
	}
}

// reclaimPrefix serves one ReclaimPrefixCache on the scheduler goroutine.
func (e *Engine) reclaimPrefix(done chan struct{}) {
	e.prefix.clear()
	close(done)
}
