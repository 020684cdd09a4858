package clienttest

import (
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	"mime"
	"net/http"
	"testing"
	"time"

	"github.com/sottolabs/sotto/crypto"
	"github.com/sottolabs/sotto/crypto/device"
	"github.com/sottolabs/sotto/crypto/replay"
	"github.com/sottolabs/sotto/crypto/wire"
	"github.com/sottolabs/sotto/server/problem"
)

// requestTTL is the protocol's request-time window.
const requestTTL = 60 * time.Second

// handleChat runs the checks of protocol section 4 a client can trigger,
// in order, then streams the canned reply.
func (s *Server) handleChat(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.counts.Chat++
	var queued *problem.Problem
	if len(s.queue) > 0 {
		queued, s.queue = &s.queue[0], s.queue[1:]
	}
	s.mu.Unlock()
	if queued != nil {
		problem.Write(w, *queued)
		return
	}
	rec, o, p := s.check(r)
	if p != nil {
		problem.Write(w, *p)
		return
	}
	defer o.Destroy()
	s.mu.Lock()
	s.received = append(s.received, rec)
	s.mu.Unlock()
	s.stream(w, r, o, rec.Shape)
}

// check returns the opened request, or the problem refusing it.
func (s *Server) check(r *http.Request) (Received, *crypto.Opened, *problem.Problem) {
	var rec Received
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != wire.MediaTypeRequest {
		return rec, nil, ptr(problem.New(problem.MediaType))
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, int64(crypto.MaxBodySize(crypto.SuiteXWing))+1))
	if err != nil || len(body) > crypto.MaxBodySize(crypto.SuiteXWing) {
		return rec, nil, ptr(problem.New(problem.TooLarge))
	}
	sum := sha256.Sum256(body)
	now := s.now()
	if p := s.checkPoW(r, sum, now); p != nil {
		return rec, nil, p
	}
	h, err := crypto.ParseHeader(body)
	if err != nil {
		return rec, nil, ptr(problem.New(problem.Envelope))
	}
	s.mu.Lock()
	fixed := s.fixedDoc
	s.mu.Unlock()
	key, err := s.store.Lookup(h.KeyID, h.Suite, now)
	if fixed != nil || err != nil {
		if fixed == nil {
			fixed = s.Document()
		}
		return rec, nil, ptr(problem.KeyConfig(fixed))
	}
	if replay.CheckTime(time.UnixMilli(h.TS), now, requestTTL) != nil {
		return rec, nil, ptr(problem.New(problem.Date))
	}
	dk, err := device.ParseKey(r.Header.Get(wire.HeaderDevice))
	if err != nil || dk.VerifyDigest(sum, r.Header.Get(wire.HeaderSignature)) != nil {
		return rec, nil, ptr(problem.New(problem.Device))
	}
	seed, err := key.OpenSeed()
	if err != nil {
		return rec, nil, ptr(problem.New(problem.Envelope))
	}
	o, err := crypto.Open(h, body, seed.Bytes(), s.budget)
	seed.Destroy()
	if err != nil {
		return rec, nil, ptr(problem.New(problem.Envelope))
	}
	rec = Received{KeyID: h.KeyID, Suite: h.Suite, TS: time.UnixMilli(h.TS), RID: h.RID,
		Inner: string(o.Plaintext()), Device: dk.String(), PoW: r.Header.Get(wire.HeaderPoW)}
	req, err := crypto.ParseRequest(o.Plaintext(), crypto.Limits{})
	rec.Shape = req.Shape
	if err != nil {
		o.Destroy()
		var re *crypto.RequestError
		p := problem.New(problem.Request)
		if errors.As(err, &re) {
			p = p.With("code", re.Code)
		}
		return rec, nil, &p
	}
	return rec, o, nil
}

// checkPoW asks for or verifies the proof of work when it is required.
func (s *Server) checkPoW(r *http.Request, sum [32]byte, now time.Time) *problem.Problem {
	s.mu.Lock()
	iss := s.powIssuer
	s.mu.Unlock()
	if iss == nil {
		return nil
	}
	if ans := r.Header.Get(wire.HeaderPoW); ans != "" && iss.Verify(ans, sum, now) == nil {
		return nil
	}
	challenge, err := iss.Issue(now)
	if err != nil {
		return ptr(problem.New(problem.Internal))
	}
	return ptr(problem.PoWRequired(challenge))
}

// stream sends the canned reply, sealed.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, o *crypto.Opened, shape bool) {
	s.mu.Lock()
	reply, mangle := s.reply, s.mangle
	s.mu.Unlock()
	sealer, err := crypto.NewStreamSealer(o, rand.Reader, 0, s.budget)
	if err != nil {
		problem.Write(w, problem.OverloadedAfter(time.Second))
		return
	}
	defer sealer.Close()
	w.Header().Set("Content-Type", wire.MediaTypeStream)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if reply.Shaped && shape {
		s.send(w, shapedEvents(s.t, sealer, reply), mangle)
		return
	}
	events := [][]byte{sealer.NonceEvent(nil)}
	for _, d := range reply.Deltas {
		ev, err := sealer.SealDelta(nil, []byte(d))
		if err != nil {
			s.t.Errorf("clienttest: SealDelta: %v", err)
			return
		}
		events = append(events, ev)
	}
	if !reply.Hang {
		ev, err := sealer.SealFinal(nil, reply.Final)
		if err != nil {
			s.t.Errorf("clienttest: SealFinal: %v", err)
			return
		}
		events = append(events, ev)
	}
	s.send(w, events, mangle)
	if reply.Hang {
		<-r.Context().Done()
		s.mu.Lock()
		s.counts.Abandoned++
		s.mu.Unlock()
	}
}

// send writes the events one by one, flushing each, or all at once
// through mangle.
func (s *Server) send(w http.ResponseWriter, events [][]byte, mangle func([]byte) []byte) {
	f, _ := w.(http.Flusher)
	if mangle != nil {
		var all []byte
		for _, ev := range events {
			all = append(all, ev...)
		}
		events = [][]byte{mangle(all)}
	}
	for _, ev := range events {
		if _, err := w.Write(ev); err != nil {
			return
		}
		if f != nil {
			f.Flush()
		}
	}
}

// shapedEvents seals reply as a shaped stream, one event per frame.
func shapedEvents(t testing.TB, sealer *crypto.StreamSealer, reply Reply) [][]byte {
	events := [][]byte{sealer.ShapedNonceEvent(nil)}
	frame := func(text string) {
		ev, n, err := sealer.SealFrame(nil, []byte(text))
		if err != nil || n != len(text) {
			t.Errorf("clienttest: SealFrame: %v", err)
		}
		events = append(events, ev)
	}
	frame("")
	frame("")
	for _, d := range reply.Deltas {
		frame(d)
	}
	final := sealer.Frames()
	ev, err := sealer.SealFinalFrame(nil, reply.Final)
	if err != nil {
		t.Errorf("clienttest: SealFinalFrame: %v", err)
	}
	events = append(events, ev)
	for sealer.Frames() < crypto.ShapeFrames(final) {
		frame("")
	}
	return events
}

func ptr(p problem.Problem) *problem.Problem { return &p }
