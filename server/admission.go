package server

import (
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
