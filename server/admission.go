package server

import (
	"context"
	"time"

	"github.com/sottolabs/sotto/crypto"
	"github.com/sottolabs/sotto/internal/locked"
)

// lockedCoster is implemented by engines that can tell the locked memory
// one request takes from the shared budget (llama.Engine).
type lockedCoster interface {
	RequestLockedCost(contentBytes, messages int) int64
}

// AdmissionCost is the locked memory a chat request with a body of
// bodyBytes may hold at its peak, all of it charged to the shared budget:
// the private key opened from its enclave, the opened request (padded plaintext and exporter secret, at most the
// body's size), the stream's two pending-text buffers, the stream
// sealer's scratch, and the engine's prompt buffers. The plaintext bounds
// the message contents; the request limits bound the number of messages.
// checkAdmission refuses a request when this much is not free, before
// anything is decrypted.
func (s *Server) AdmissionCost(bodyBytes int) int64 {
	need := locked.OpenCost(crypto.SeedSize) + // the key's seed, out of its enclave
		locked.Cost(bodyBytes) +
		2*locked.Cost(s.opts.StreamBufferBytes) +
		locked.Cost(crypto.StreamScratchSize(s.opts.PadQuantum)) +
		s.conversationCost()
	if e, ok := s.attached().(lockedCoster); ok {
		need += e.RequestLockedCost(bodyBytes, s.maxMessages())
	}
	return need
}

// maxMessages is the most messages a request may carry (crypto.Limits,
// whose zero value means the protocol default of 64).
func (s *Server) maxMessages() int {
	if n := s.opts.RequestLimits.MaxMessages; n > 0 {
		return n
	}
	return 64
}

// prefixReclaimer is implemented by engines whose conversation cache can
// give its locked memory back (llama.Engine).
type prefixReclaimer interface {
	ReclaimPrefixCache(ctx context.Context) bool
}

// reclaimTimeout bounds the wait for the engine's scheduler, which
// empties the cache between two decode steps.
const reclaimTimeout = time.Second

// reclaimCache empties the engine's conversation cache when the locked
// budget cannot admit a request: cached conversations are an
// optimisation, a request is not. It reports whether anything was freed.
func (s *Server) reclaimCache() bool {
	r, ok := s.attached().(prefixReclaimer)
	if !ok {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), reclaimTimeout)
	defer cancel()
	return r.ReclaimPrefixCache(ctx)
}
