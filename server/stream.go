package server

import (
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/sottolabs/sotto/crypto"
	"github.com/sottolabs/sotto/internal/locked"
)

// errSlowClient cancels a generation whose client reads so slowly that the
// text waiting for it fills its locked buffer.
var errSlowClient = errors.New("server: client too slow")

// pendingText is the text generated for one stream and not yet sealed: the
// engine's token sink appends to it on the scheduler goroutine, and the
// stream writer takes it all on the handler goroutine. Both buffers are
// locked memory; the swap means neither side waits for the other's work.
//
// When the client reads as fast as the model generates, each take finds one
// token piece and the stream carries one chunk per token. When the client is
// slower, pieces accumulate and the next chunk carries all of them: the
// stream coalesces only under back-pressure, and the scheduler never blocks
// on a socket (a blocked sink would stall every other stream).
type pendingText struct {
	mu     sync.Mutex
	fill   *locked.Buffer // appended to by the sink
	n      int            // bytes used in fill
	spare  *locked.Buffer // handed to the writer by take
	wake   chan struct{}  // capacity 1: "there is text"
	first  time.Time      // when the first piece arrived (zero before)
	last   time.Time      // when the latest piece arrived
	pieces int
}

func newPendingText(budget *locked.Budget, size int) (*pendingText, error) {
	a, err := budget.Alloc(size)
	if err != nil {
		return nil, err
	}
	b, err := budget.Alloc(size)
	if err != nil {
		a.Destroy()
		return nil, err
	}
	return &pendingText{fill: a, spare: b, wake: make(chan struct{}, 1)}, nil
}

// add appends a piece; it is the engine's token sink (scheduler goroutine).
// It fails with errSlowClient when the buffer is full.
func (p *pendingText) add(piece []byte, now time.Time) error {
	p.mu.Lock()
	if p.n+len(piece) > p.fill.Len() {
		p.mu.Unlock()
		return errSlowClient
	}
	copy(p.fill.Bytes()[p.n:], piece)
	p.n += len(piece)
	if p.first.IsZero() {
		p.first = now
	}
	p.last = now
	p.pieces++
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
	return nil
}

// take swaps the buffers and returns the text gathered since the last take,
// valid until the next take or destroy. The caller wipes it after sealing.
func (p *pendingText) take() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fill, p.spare = p.spare, p.fill
	n := p.n
	p.n = 0
	return p.spare.Bytes()[:n]
}

func (p *pendingText) destroy() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fill.Destroy()
	p.spare.Destroy()
}

// streamWriter seals text into SSE events and writes them to the client,
// flushing after each. It is used by the handler goroutine only.
//
// Every write and flush has a deadline (timeout, SOTTO_WRITE_TIMEOUT_SECONDS):
// a client that stops reading (a zero TCP window, no HTTP/2 WINDOW_UPDATE)
// would otherwise block the handler for ever while it holds the decrypted
// prompt, locked buffers, an engine slot and the device's stream quota.
// A missed deadline is a write error, which cancels the generation.
type streamWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	sealer  *crypto.StreamSealer
	timeout time.Duration
	out     []byte // reused event buffer: ciphertext only
	err     error  // first write error; later writes are skipped
	chunks  int
	finalAt int64 // shaped streams: the final frame's index, -1 before it
}

func (s *streamWriter) writeEvent(event []byte) {
	s.writeUnflushed(event)
	s.flush()
}

// flush sends what the response's buffer holds.
func (s *streamWriter) flush() {
	if s.err == nil {
		s.err = s.rc.Flush()
	}
}

// writeUnflushed writes event into the response's buffer, to leave with
// the next flush.
func (s *streamWriter) writeUnflushed(event []byte) {
	if s.err != nil {
		return
	}
	if err := s.rc.SetWriteDeadline(time.Now().Add(s.timeout)); err != nil {
		s.err = err
		return
	}
	if _, err := s.w.Write(event); err != nil {
		s.err = err
	}
}

// clearDeadline lifts the write deadline once the stream is complete, so
// a kept-alive connection's next response is not cut by it.
func (s *streamWriter) clearDeadline() {
	if s.err == nil {
		_ = s.rc.SetWriteDeadline(time.Time{})
	}
}

// nonce writes the stream's first event.
func (s *streamWriter) nonce() {
	s.out = s.sealer.NonceEvent(s.out[:0])
	s.writeEvent(s.out)
}

// shapedNonce writes a shaped stream's first event.
//
// It is not flushed: the 200's headers, this event and frame 0 leave in
// one write (one TLS record), so how they split into reads cannot vary
// with the engine's work between two flushes.
func (s *streamWriter) shapedNonce() {
	s.out = s.sealer.ShapedNonceEvent(s.out[:0])
	s.writeUnflushed(s.out)
}

// delta seals text as one chunk; text is wiped afterwards.
func (s *streamWriter) delta(text []byte) {
	defer locked.Wipe(text)
	if len(text) == 0 || s.err != nil {
		return
	}
	out, err := s.sealer.SealDelta(s.out[:0], text)
	if err != nil {
		s.err = err
		return
	}
	s.out = out
	s.chunks++
	s.writeEvent(s.out)
}

// final seals and writes the closing chunk.
func (s *streamWriter) final(f crypto.Final) {
	if s.err != nil {
		return
	}
	out, err := s.sealer.SealFinal(s.out[:0], f)
	if err != nil {
		s.err = err
		return
	}
	s.out = out
	s.writeEvent(s.out)
}
