package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/sottolabs/sotto/crypto"
	"github.com/sottolabs/sotto/crypto/wire"
	"github.com/sottolabs/sotto/internal/engine"
	"github.com/sottolabs/sotto/server/problem"
)

// keepAliveEvery is how often an SSE comment keeps an idle stream open
// (long prompt prefill, queue wait) through proxies with read timeouts.
const keepAliveEvery = 15 * time.Second

var keepAlive = []byte(": ka\n\n")

type generation struct {
	res engine.Result
	err error
}

// stream answers an admitted, decrypted request with the sealed SSE stream.
// The engine runs on its scheduler goroutine and hands pieces to a locked
// pendingText; this goroutine seals and writes them. A sealed final chunk
// always ends the stream.
func (s *Server) stream(w http.ResponseWriter, st *chatState) {
	pending, err := newPendingText(s.budget, s.opts.StreamBufferBytes)
	if err != nil {
		s.refuse(w, overloaded())
		return
	}
	defer pending.destroy()
	sealer, err := crypto.NewStreamSealer(st.opened, s.rand, s.opts.PadQuantum, s.budget)
	if err != nil {
		s.refuse(w, overloaded())
		return
	}
	defer sealer.Close()

	sw := &streamWriter{w: w, rc: http.NewResponseController(w), sealer: sealer,
		timeout: s.opts.WriteTimeout, out: make([]byte, 0, 4096), finalAt: -1}
	defer sw.clearDeadline()
	s.metrics.ActiveStreams.Inc()
	defer s.metrics.ActiveStreams.Dec()
	begin := func() {
		h := w.Header()
		h.Set("Content-Type", wire.MediaTypeStream)
		h.Set("Cache-Control", "no-store")
		h.Set("X-Accel-Buffering", "no")
		w.WriteHeader(http.StatusOK)
		s.metrics.ObserveRequest(http.StatusOK, "")
	}
	var g generation
	if s.shaped(st) {
		g = s.generateShaped(st, pending, sw, begin)
	} else {
		begin()
		sw.nonce()
		g = s.generate(st, pending, sw)
		sw.final(finalChunk(g))
	}
	s.observe(st, pending, g)
}

// generate runs the engine and pumps its text into the stream until the
// engine returns. A write error (client gone) cancels the generation; so
// does the request context.
func (s *Server) generate(st *chatState, pending *pendingText, sw *streamWriter) generation {
	ctx, cancel := context.WithCancel(st.r.Context())
	defer cancel()
	done := make(chan generation, 1)
	var last time.Time
	sink := func(piece []byte) error {
		now := s.now()
		if !last.IsZero() {
			s.metrics.InterTokenLatency.Observe(now.Sub(last).Seconds())
		}
		last = now
		return pending.add(piece, now)
	}
	go func() { done <- s.runEngine(ctx, st, sink) }()
	tick := time.NewTicker(keepAliveEvery)
	defer tick.Stop()
	// With a coalescing window (protocol section 7) text leaves at a fixed
	// cadence instead of per token, hiding token timing; wake is ignored.
	wake, cadence := pending.wake, (<-chan time.Time)(nil)
	switch {
	case s.opts.Buffered:
		// The whole reply leaves in one chunk when generation ends
		// (STREAMING_ENABLED=false): no timing or length per token at all.
		// A long reply can fill the locked pending buffer; it then ends
		// with finish_reason error, code slow_client.
		wake = nil
	case s.opts.Coalesce > 0:
		c := time.NewTicker(s.opts.Coalesce)
		defer c.Stop()
		wake, cadence = nil, c.C
	}
	for {
		select {
		case <-wake:
			sw.delta(pending.take())
		case <-cadence:
			sw.delta(pending.take())
		case <-tick.C:
			sw.writeEvent(keepAlive)
		case g := <-done:
			sw.delta(pending.take())
			return g
		}
		if sw.err != nil {
			cancel()
		}
	}
}

// runEngine runs the request on the engine and, as soon as the engine has
// given its slot back, returns the request's place among the slots and the
// queue (checkAdmission). The client may read the final chunk and send its
// next request before this handler has finished (a shaped stream runs on
// to the end of its bucket); that request must find the place free, not a
// 503 for a reply already complete.
func (s *Server) runEngine(ctx context.Context, st *chatState, sink func([]byte) error) generation {
	res, err := s.attached().Generate(ctx, st.engineReq, sink)
	if st.unadmit != nil {
		st.unadmit()
	}
	return generation{res, err}
}

// engineRequest maps the decrypted request onto the engine's. Message
// contents and stop strings stay views into the locked plaintext, which
// outlives the generation.
func (s *Server) engineRequest(st *chatState) *engine.Request {
	in := &st.req
	req := &engine.Request{
		Messages: make([]engine.Message, len(in.Messages)),
		Stop:     in.Stop,
		Sampling: s.opts.DefaultSampling,
		// Without max_tokens: min(DEFAULT_MAX_TOKENS, the context left).
		MaxTokensDefault: s.opts.DefaultMaxTokens,
	}
	for i, m := range in.Messages {
		req.Messages[i] = engine.Message{Role: engineRole(m.Role), Content: m.Content}
	}
	if in.HasMaxTokens {
		req.MaxTokens = in.MaxTokens
	}
	if in.HasTemperature {
		req.Sampling.Temperature = in.Temperature
	}
	if in.HasTopP {
		req.Sampling.TopP = in.TopP
	}
	if in.HasTopK {
		req.Sampling.TopK = in.TopK
	}
	if in.HasSeed {
		req.Sampling.Seed = engineSeed(in.Seed)
	} else {
		req.Sampling.Seed = s.randomSeed()
	}
	s.setConversation(st, req)
	return req
}

func engineRole(r crypto.Role) engine.Role {
	switch r {
	case crypto.RoleSystem:
		return engine.RoleSystem
	case crypto.RoleAssistant:
		return engine.RoleAssistant
	}
	return engine.RoleUser
}

// finalChunk maps the engine's outcome onto the protocol's final chunk.
func finalChunk(g generation) crypto.Final {
	f := crypto.Final{PromptTokens: g.res.PromptTokens, CompletionTokens: g.res.CompletionTokens}
	switch {
	case errors.Is(g.err, errSlowClient):
		f.Reason, f.ErrorCode = "error", "slow_client"
	case g.err == nil && g.res.Finish == engine.FinishLength:
		f.Reason = "length"
	case g.err == nil:
		f.Reason = "stop"
	case g.res.Finish == engine.FinishCancelled || errors.Is(g.err, context.Canceled):
		f.Reason = "cancelled"
	default:
		f.Reason = "error"
		f.ErrorCode = engineErrorCode(g.err)
	}
	return f
}

// engineErrorCode names an engine failure for the final chunk: a fixed
// vocabulary, never an error's text.
func engineErrorCode(err error) string {
	switch {
	case errors.Is(err, engine.ErrOverloaded):
		return "overloaded"
	case errors.Is(err, engine.ErrContextOverflow):
		return "context_overflow"
	case errors.Is(err, engine.ErrInvalidRequest):
		return "invalid_request"
	case errors.Is(err, errSlowClient):
		return "slow_client"
	}
	return "internal"
}

// observe records the request's metrics and its one log line: the
// hashed request id and how it finished. Token counts and durations are
// debug only: together with a rid they give a log reader the length of
// one conversation, which the padding hides from the network
// (docs/operations.md, Logs).
func (s *Server) observe(st *chatState, pending *pendingText, g generation) {
	end := s.now()
	m := s.metrics
	m.RequestDuration.Observe(end.Sub(st.arrived).Seconds())
	m.QueueWait.Observe(g.res.QueueWait.Seconds())
	if !pending.first.IsZero() {
		m.TimeToFirstToken.Observe(pending.first.Sub(st.arrived).Seconds())
	}
	m.PromptTokens.Add(float64(g.res.PromptTokens))
	m.GeneratedTokens.Add(float64(g.res.CompletionTokens))
	s.accounts.add(st.deviceID, g.res.PromptTokens, g.res.CompletionTokens)
	m.RequestFinished()
	rid, finish := s.logIDs.hashed(st.hdr.RID[:]), finalChunk(g).Reason
	if !s.log.Enabled(context.Background(), slog.LevelDebug) {
		s.log.Info("chat", "rid", rid, "finish", finish)
		return
	}
	s.log.Debug("chat", "rid", rid, "finish", finish,
		"prompt_tokens", g.res.PromptTokens,
		"completion_tokens", g.res.CompletionTokens,
		"ms", end.Sub(st.arrived).Milliseconds())
}

// logRefusal is a refused request's one log line: the problem's name and
// status, and the hashed request id once the header has been read; never
// content, key, signature or address.
func (s *Server) logRefusal(st *chatState, p *problem.Problem) {
	if st.hdr.RID == ([16]byte{}) {
		s.log.Info("refused", "problem", p.Name, "status", p.Status)
		return
	}
	s.log.Info("refused", "problem", p.Name, "status", p.Status, "rid", s.logIDs.hashed(st.hdr.RID[:]))
}
