package server

import (
	"github.com/sottolabs/sotto/crypto/wire"
	"github.com/sottolabs/sotto/server/problem"
)

// powRequired reports whether requests must carry proof of work now:
// always, never, or (auto) while the engine is busier than the threshold.
func (s *Server) powRequired() bool {
	switch s.opts.PoWMode {
	case PoWAlways:
		return true
	case PoWAuto:
		es := s.engineStats()
		capacity := es.Slots + s.opts.QueueDepth
		return capacity > 0 && float64(es.BusySlots+es.Queued) >= s.opts.PoWAutoThreshold*float64(capacity)
	}
	return false
}

// checkPoW asks for, or verifies, the proof of work of protocol section 6a.
// The work is bound to the body; the body's rid makes it single-use.
func (s *Server) checkPoW(st *chatState) *problem.Problem {
	if !s.powRequired() {
		return nil
	}
	answer := st.r.Header.Get(wire.HeaderPoW)
	if answer != "" && s.pow.Verify(answer, st.bodyHash, st.arrived) == nil {
		return nil
	}
	challenge, err := s.pow.Issue(st.arrived)
	if err != nil {
		return overloaded()
	}
	s.metrics.PoWChallenges.Inc()
	return reject(problem.PoWRequired(challenge))
}
