package server

import (
	"crypto/sha256"
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/sottolabs/sotto/crypto"
	"github.com/sottolabs/sotto/crypto/device"
	"github.com/sottolabs/sotto/crypto/keys"
	"github.com/sottolabs/sotto/crypto/replay"
	"github.com/sottolabs/sotto/internal/engine"
	"github.com/sottolabs/sotto/internal/locked"
	"github.com/sottolabs/sotto/server/clientip"
	"github.com/sottolabs/sotto/server/intake"
	"github.com/sottolabs/sotto/server/metrics"
	"github.com/sottolabs/sotto/server/problem"
)

// chatState carries one request through the checks of protocol section 4.
// Everything in it is public (ciphertext, header fields, hashed ids) except
// opened, which is the decrypted request in locked memory.
type chatState struct {
	r        *http.Request
	arrived  time.Time
	received time.Time // when the whole body was read: the window's clock
	body     []byte
	bodyHash [32]byte
	hdr      crypto.Header
	key      *keys.Key
	deviceID string // rate-limit key derived from the verified device key
	release  func() // frees the device's concurrent-stream slot
	unhold   func() // returns the body's bytes to the in-flight cap
	unadmit  func() // returns the request's place among the engine's slots and queue
	opened   *crypto.Opened
	req      crypto.Request
	// engineReq and prepared are the request as the engine runs it, its
	// prompt tokenized in locked memory before the 200.
	engineReq *engine.Request
	prepared  *engine.Prepared
	// device is the verified device key; conversation the locked buffer
	// holding the engine's prefix key (conversation.go), nil without one.
	device       device.Key
	conversation *locked.Buffer
	arrivedMono  time.Time // received on the real clock (received may be a test's): shape.go
}

// handleChat serves POST /api/chat: the checks of protocol section 4 in
// order, each refusing with its problem type before any decryption, then
// the sealed stream.
func (s *Server) handleChat(c echo.Context) error {
	if !s.ready.Load() {
		s.refuse(c.Response(), reject(problem.OverloadedAfter(notReadyRetry)))
		return nil
	}
	st := &chatState{r: c.Request(), arrived: s.now()}
	defer st.cleanup()
	steps := []func(*chatState) *problem.Problem{
		s.readBody,       // 1. 413, 415
		s.checkClient,    // 2. 429 per IP, proof of work
		s.checkEnvelope,  // 3. 400 #envelope
		s.checkKey,       // 4. 422 #key
		s.checkDate,      // 5. 400 #date
		s.checkReplay,    // 6. 400 #replay
		s.checkDevice,    // 7. 401 #device, 429 per device
		s.checkAdmission, // 8. 503 #overloaded
		s.open,           // 9. 400 #envelope
		s.registerRID,    // 10. 400 #replay, 503 when full
		s.parse,          // 400 #request (after 10, so a refused request cannot be replayed either)
		s.precheck,       // 400 #request: what the engine would refuse (NUL, template, context)
	}
	for _, step := range steps {
		if p := step(st); p != nil {
			s.logRefusal(st, p)
			if st.body == nil {
				intake.CloseUnread(c.Response(), st.r)
			}
			s.refuse(c.Response(), p)
			return nil
		}
	}
	s.stream(c.Response(), st)
	return nil
}

func (st *chatState) cleanup() {
	st.prepared.Release()
	if st.conversation != nil {
		st.conversation.Destroy()
	}
	if st.opened != nil {
		st.opened.Destroy()
	}
	if st.release != nil {
		st.release()
	}
	if st.unhold != nil {
		st.unhold()
	}
	if st.unadmit != nil {
		st.unadmit()
	}
}

// refuse writes a problem and counts it.
func (s *Server) refuse(w http.ResponseWriter, p *problem.Problem) {
	s.metrics.ObserveRequest(p.Status, p.Name)
	if p.Name == problem.Date {
		// The client corrects its clock from this header: it must be the
		// clock the window was checked against.
		w.Header().Set("Date", s.now().UTC().Format(http.TimeFormat))
	}
	problem.Write(w, *p)
}

func (s *Server) readBody(st *chatState) *problem.Problem {
	r := st.r
	if p := intake.CheckHead(r, s.opts.MaxBodyBytes); p != nil {
		return p
	}
	unhold, ok := s.bodies.Reserve(r, s.opts.MaxBodyBytes)
	if !ok {
		return overloaded()
	}
	st.unhold = unhold
	body, p := intake.ReadBody(r, s.opts.MaxBodyBytes)
	if p != nil {
		return p
	}
	st.body = body
	st.bodyHash = sha256.Sum256(body)
	// A body trickled in slowly must not stretch the request's window:
	// ts is checked against the time the last byte arrived.
	st.received = s.now()
	st.arrivedMono = time.Now()
	return nil
}

func (s *Server) checkClient(st *chatState) *problem.Problem {
	if p := s.limitAddress(st.r, st.arrived); p != nil {
		return p
	}
	return s.checkPoW(st)
}

// limitAddress is the per-address rate limit of chats and enrolments.
func (s *Server) limitAddress(r *http.Request, at time.Time) *problem.Problem {
	// A peer without an address (a UNIX-socket client with no forwarded
	// address) shares one bucket with every other such peer.
	id := []byte("local")
	if ip, err := s.clientIP(r); err == nil {
		id = clientip.KeyPrefix(ip).Addr().AsSlice()
	}
	key, err := s.keyer.Key("ip", id)
	if err != nil {
		return overloaded()
	}
	d, err := s.ipLimiter.Allow(r.Context(), key, at)
	if err != nil || !d.Allowed {
		s.metrics.RateLimited(metrics.ScopeIP)
		return reject(problem.RateLimitedAfter(d.RetryAfter))
	}
	return nil
}

func (s *Server) checkEnvelope(st *chatState) *problem.Problem {
	var p *problem.Problem
	st.hdr, p = intake.ParseEnvelope(st.body)
	return p
}

func (s *Server) checkKey(st *chatState) *problem.Problem {
	k, err := s.keys.Lookup(st.hdr.KeyID, st.hdr.Suite, st.arrived)
	if err != nil {
		return s.keyProblem()
	}
	st.key = k
	return nil
}

// keyProblem is the 422 #key answer: it carries the signed key
// configuration so the client can refresh and retry at once.
func (s *Server) keyProblem() *problem.Problem {
	doc, err := s.keys.Document(s.now())
	if err != nil {
		return reject(problem.New(problem.Key))
	}
	return reject(problem.KeyConfig(doc))
}

func (s *Server) checkDate(st *chatState) *problem.Problem {
	return intake.CheckDate(st.hdr, st.received, s.opts.RequestTTL)
}

func (s *Server) checkReplay(st *chatState) *problem.Problem {
	seen, err := s.replay.Seen(st.r.Context(), st.hdr.RID)
	if err != nil {
		return reject(problem.OverloadedAfter(time.Second))
	}
	if seen {
		s.metrics.ReplayRejected.Inc()
		return reject(problem.New(problem.Replay))
	}
	return nil
}

func (s *Server) checkDevice(st *chatState) *problem.Problem {
	dk, p := intake.VerifyDevice(st.r.Context(), st.r.Header, st.bodyHash, s.devices)
	if p != nil {
		return p
	}
	st.device = dk
	id := dk.ID()
	var err error
	if st.deviceID, err = s.keyer.Key("device", id[:]); err != nil {
		return overloaded()
	}
	d, err := s.deviceLimiter.Allow(st.r.Context(), st.deviceID, st.arrived)
	if err != nil || !d.Allowed {
		s.metrics.RateLimited(metrics.ScopeDevice)
		return reject(problem.RateLimitedAfter(d.RetryAfter))
	}
	release, ok := s.streams.Acquire(st.deviceID)
	if !ok {
		s.metrics.RateLimited(metrics.ScopeDevice)
		return reject(problem.RateLimitedAfter(time.Second))
	}
	st.release = release
	return nil
}

// checkAdmission refuses before decryption when the engine's queue is full
// or the locked memory this request needs is not there: memguard would
// panic, purging every key, if mlock failed later.
func (s *Server) checkAdmission(st *chatState) *problem.Problem {
	es := s.engineStats()
	if es.BusySlots+es.Queued >= es.Slots+s.opts.QueueDepth {
		return reject(problem.OverloadedAfter(time.Second))
	}
	// The engine's counts above lag the requests admitted since: a burst
	// of clients would all pass them, and the engine would refuse the
	// surplus after the 200, inside the stream. A reservation held until
	// the request ends keeps the admitted within the slots and the queue.
	unadmit, ok := s.admitted.acquireWithin(1, int64(es.Slots+s.opts.QueueDepth))
	if !ok {
		return reject(problem.OverloadedAfter(time.Second))
	}
	st.unadmit = unadmit
	need := s.AdmissionCost(len(st.body))
	if lim := s.budget.Limit(); lim >= 0 && s.budget.InUse()+need > lim &&
		(!s.reclaimCache() || s.budget.InUse()+need > lim) {
		return reject(problem.OverloadedAfter(time.Second))
	}
	// Admitted: the engine's queue bounds these from here on.
	st.unhold()
	return nil
}

func (s *Server) open(st *chatState) *problem.Problem {
	seed, err := st.key.OpenSeed()
	switch {
	case errors.Is(err, locked.ErrExhausted):
		return overloaded()
	case err != nil:
		return s.keyProblem() // retired since Lookup, or the store closed
	}
	o, err := crypto.Open(st.hdr, st.body, seed.Bytes(), s.budget)
	seed.Destroy()
	if err != nil {
		if errors.Is(err, locked.ErrExhausted) {
			return reject(problem.OverloadedAfter(time.Second))
		}
		return reject(problem.New(problem.Envelope))
	}
	st.opened = o
	return nil
}

func (s *Server) parse(st *chatState) *problem.Problem {
	req, err := crypto.ParseRequest(st.opened.Plaintext(), s.opts.RequestLimits)
	if err != nil {
		var re *crypto.RequestError
		if errors.As(err, &re) {
			return reject(problem.InvalidRequest(re.Code))
		}
		return reject(problem.New(problem.Request))
	}
	st.req = req
	return nil
}

func (s *Server) registerRID(st *chatState) *problem.Problem {
	expires := replay.Expiry(time.UnixMilli(st.hdr.TS), s.opts.RequestTTL)
	switch err := s.replay.Add(st.r.Context(), st.hdr.RID, expires); {
	case err == nil:
		return nil
	case errors.Is(err, replay.ErrReplay):
		s.metrics.ReplayRejected.Inc()
		return reject(problem.New(problem.Replay))
	case errors.Is(err, replay.ErrExpired):
		// The window closed while the request was being checked.
		return reject(problem.New(problem.Date))
	default:
		return reject(problem.OverloadedAfter(time.Second))
	}
}
