package server

import (
	"context"
	"time"

	"github.com/sottolabs/sotto/crypto"
)

// Shaped streams (docs/protocol.md 5.5): for a request that asked for one
// while SOTTO_STREAM_SHAPE is constant, the 200 and the nonce event leave
// at start = arrival + ShapeFrame (arrival: when the body had been read),
// so the time the checks took (decrypting, tokenizing the prompt, which
// grows with its length) does not show; frame k (k = 0, 1, ...) leaves at
// start + k*ShapeFrame whatever the engine is doing, each of one size:
// the text ready by then (as much as fits), a padding frame when none is
// ready (the prompt is being processed, or the model is between tokens),
// the final frame after the last text, then padding frames until the
// stream has crypto.ShapeFrames(final index) frames. An observer sees the
// start and the length bucket; prefill time, token count and when the
// generation ended stay inside the ciphertext.

// shaped reports whether st's stream is shaped.
func (s *Server) shaped(st *chatState) bool {
	return s.opts.ShapeFrame > 0 && st.req.Shape
}

// consume passes the pending text to f, under the lock, and drops (and
// wipes) the n bytes f reports it took; the rest waits for the next frame.
func (p *pendingText) consume(f func(text []byte) int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	b := p.fill.Bytes()
	n := f(b[:p.n])
	copy(b, b[n:p.n])
	clear(b[p.n-n : p.n])
	p.n -= n
}

// generateShaped runs the engine like generate and writes one frame per
// tick until the bucket is full. In buffered mode (STREAMING_ENABLED=false)
// text is held until the generation ends, then sent in the next frames:
// the same shape, the text later.
func (s *Server) generateShaped(st *chatState, pending *pendingText, sw *streamWriter, begin func()) generation {
	ctx, cancel := context.WithCancel(st.r.Context())
	defer cancel()
	done := make(chan generation, 1)
	go func() {
		done <- s.runEngine(ctx, st, func(piece []byte) error { return pending.add(piece, s.now()) })
	}()
	// The engine starts at once; the response waits for its slot. Each
	// frame is prepared (text taken, sealed, written into the response's
	// buffer) frameLead before its time and only flushed at its time, on
	// sleepUntil's clock: the CPU work of a frame slows when the engine
	// runs hot on the other cores (a long prompt's processing made frame
	// 0 leave 0.3 ms late, which an observer's classifier saw), the Go
	// timer's lateness varied with it, and the flush is the least of it.
	start := st.arrivedMono.Add(s.opts.ShapeFrame)
	lead := min(s.opts.ShapeFrame/4, frameLead)
	time.Sleep(time.Until(start.Add(-lead)))
	begin()
	sw.shapedNonce()
	timer := time.NewTimer(0) // frame 0 is prepared with the nonce event
	defer timer.Stop()
	var g *generation
	for k := 0; ; k++ {
		select {
		case r := <-done:
			g = &r
			<-timer.C
		case <-timer.C:
		}
		if g == nil {
			select { // a generation that ended during the wait
			case r := <-done:
				g = &r
			default:
			}
		}
		last := sw.frame(pending, g, s.opts.Buffered)
		sleepUntil(start.Add(time.Duration(k) * s.opts.ShapeFrame))
		sw.flush()
		if last && sw.err == nil {
			return *g
		}
		if sw.err != nil {
			cancel()
			if g == nil {
				r := <-done
				return r
			}
			return *g
		}
		timer.Reset(time.Until(start.Add(time.Duration(k+1)*s.opts.ShapeFrame - lead)))
	}
}

// frameLead is how long before its time a frame is prepared (at most a
// quarter of the frame interval): the text ready by then goes in it.
const frameLead = 2 * time.Millisecond

// frame writes the next frame into the response's buffer (flush sends
// it): text while some is pending (and may be
// sent), else the final frame once g is known, else padding. It reports
// true when the stream's last frame has been written.
func (s *streamWriter) frame(pending *pendingText, g *generation, buffered bool) bool {
	if s.err != nil {
		return false
	}
	out := s.out[:0]
	var err error
	switch {
	case s.finalAt < 0 && (g != nil || !buffered) && pending.has():
		pending.consume(func(text []byte) int {
			var n int
			out, n, err = s.sealer.SealFrame(out, text)
			return n
		})
	case s.finalAt < 0 && g != nil:
		s.finalAt = int64(s.sealer.Frames())
		out, err = s.sealer.SealFinalFrame(out, finalChunk(*g))
	default: // padding: nothing to send yet, or after the final frame
		out, _, err = s.sealer.SealFrame(out, nil)
	}
	if err != nil {
		s.err = err
		return false
	}
	s.out = out
	s.writeUnflushed(out)
	return s.finalAt >= 0 && s.sealer.Frames() == crypto.ShapeFrames(uint64(s.finalAt))
}

// has reports whether text is waiting.
func (p *pendingText) has() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n > 0
}
