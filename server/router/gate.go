package router

import (
	"crypto/sha256"
	"errors"
	"net/http"
	"time"

	"github.com/sottolabs/sotto/crypto"
	"github.com/sottolabs/sotto/crypto/replay"
	"github.com/sottolabs/sotto/crypto/wire"
	"github.com/sottolabs/sotto/server/clientip"
	"github.com/sottolabs/sotto/server/intake"
	"github.com/sottolabs/sotto/server/metrics"
	"github.com/sottolabs/sotto/server/problem"
)

// chat carries one request through the router's checks. Everything in it
// is public: ciphertext, header fields and keyed ids.
type chat struct {
	r        *http.Request
	now      time.Time // after the whole body was read: the ts window is checked against it
	body     []byte
	bodyHash [32]byte
	hdr      crypto.Header
	deviceID string
	release  func() // frees the device's concurrent-stream slot
}

// step is one check; a non-nil problem refuses the request.
type step func(*chat) *problem.Problem

// steps are the checks of protocol section 4 that need no private key, in
// order, then the router's rid claim. Step 4 (the key) is the worker's:
// its 422 carries the key configuration and is relayed.
func (r *Router) steps() []step {
	return []step{
		r.readBody,       // 1. 413, 415
		r.checkClient,    // 2. 429 per IP, proof of work
		r.checkEnvelope,  // 3. 400 #envelope
		r.checkDate,      // 5. 400 #date
		r.checkReplay,    // 6. 400 #replay
		r.checkDevice,    // 7. 401 #device, 429 per device
		r.checkAdmission, // 8. 503 #overloaded: no worker has room
		r.claim,          // 10. the router's rid claim: 400 #replay, 503 when the register fails
	}
}

func reject(p problem.Problem) *problem.Problem { return &p }

func (r *Router) readBody(c *chat) *problem.Problem {
	if p := intake.CheckHead(c.r, r.cfg.MaxBodyBytes); p != nil {
		return p
	}
	body, p := intake.ReadBody(c.r, r.cfg.MaxBodyBytes)
	if p != nil {
		return p
	}
	c.body, c.bodyHash, c.now = body, sha256.Sum256(body), r.d.Now()
	return nil
}

func (r *Router) checkClient(c *chat) *problem.Problem {
	if p := r.limitAddress(c.r, c.now); p != nil {
		return p
	}
	return r.checkPoW(c)
}

// limitAddress is the per-address rate limit of chats and enrolments.
func (r *Router) limitAddress(req *http.Request, now time.Time) *problem.Problem {
	id := []byte("local")
	if ip, err := r.d.ClientIP(req); err == nil {
		id = clientip.KeyPrefix(ip).Addr().AsSlice()
	}
	key, err := r.d.Keyer.Key("ip", id)
	if err != nil {
		return reject(problem.OverloadedAfter(time.Second))
	}
	d, err := r.d.IPLimiter.Allow(req.Context(), key, now)
	if err != nil {
		r.metrics.stateError("ratelimit")
		return reject(problem.OverloadedAfter(time.Second))
	}
	if !d.Allowed {
		r.d.Metrics.RateLimited(metrics.ScopeIP)
		return reject(problem.RateLimitedAfter(d.RetryAfter))
	}
	return nil
}

func (r *Router) checkPoW(c *chat) *problem.Problem {
	need := r.cfg.PoWMode == PoWAlways || (r.cfg.PoWMode == PoWAuto && r.pool.load() >= r.cfg.PoWAutoThreshold)
	if !need {
		return nil
	}
	if a := c.r.Header.Get(wire.HeaderPoW); a != "" && r.d.PoW.Verify(a, c.bodyHash, c.now) == nil {
		return nil
	}
	challenge, err := r.d.PoW.Issue(c.now)
	if err != nil {
		return reject(problem.OverloadedAfter(time.Second))
	}
	r.d.Metrics.PoWChallenges.Inc()
	return reject(problem.PoWRequired(challenge))
}

func (r *Router) checkEnvelope(c *chat) *problem.Problem {
	var p *problem.Problem
	c.hdr, p = intake.ParseEnvelope(c.body)
	return p
}

func (r *Router) checkDate(c *chat) *problem.Problem {
	return intake.CheckDate(c.hdr, c.now, r.cfg.RequestTTL)
}

func (r *Router) checkReplay(c *chat) *problem.Problem {
	seen, err := r.d.Replay.Seen(c.r.Context(), c.hdr.RID)
	if err != nil {
		r.metrics.stateError("replay")
		return reject(problem.OverloadedAfter(time.Second))
	}
	if seen {
		r.d.Metrics.ReplayRejected.Inc()
		return reject(problem.New(problem.Replay))
	}
	return nil
}

func (r *Router) checkDevice(c *chat) *problem.Problem {
	dk, p := intake.VerifyDevice(c.r.Context(), c.r.Header, c.bodyHash, r.d.Devices)
	if p != nil {
		return p
	}
	var err error
	// The canonical key text, keyed by the Keyer (shared by routers that
	// share limiters): dk.ID() is per process and would split a device's
	// allowance between routers.
	if c.deviceID, err = r.d.Keyer.Key("device", []byte(dk.String())); err != nil {
		return reject(problem.OverloadedAfter(time.Second))
	}
	d, err := r.d.DeviceLimiter.Allow(c.r.Context(), c.deviceID, c.now)
	if err != nil {
		r.metrics.stateError("ratelimit")
		return reject(problem.OverloadedAfter(time.Second))
	}
	if !d.Allowed {
		r.d.Metrics.RateLimited(metrics.ScopeDevice)
		return reject(problem.RateLimitedAfter(d.RetryAfter))
	}
	release, ok := r.d.Streams.Acquire(c.deviceID)
	if !ok {
		r.d.Metrics.RateLimited(metrics.ScopeDevice)
		return reject(problem.RateLimitedAfter(time.Second))
	}
	c.release = release
	return nil
}

func (r *Router) checkAdmission(*chat) *problem.Problem {
	if r.draining.Load() || !r.pool.anyAvailable() {
		return reject(problem.OverloadedAfter(time.Second))
	}
	return nil
}

// claim registers the rid in the router's register: a second router
// sharing it (Redis) refuses a replay. Workers claim the rid again in
// their own registers (docs/protocol.md, "Routers and workers").
func (r *Router) claim(c *chat) *problem.Problem {
	expires := replay.Expiry(time.UnixMilli(c.hdr.TS), r.cfg.RequestTTL)
	switch err := r.d.Replay.Add(c.r.Context(), c.hdr.RID, expires); {
	case err == nil:
		return nil
	case errors.Is(err, replay.ErrReplay):
		r.d.Metrics.ReplayRejected.Inc()
		return reject(problem.New(problem.Replay))
	default:
		r.metrics.stateError("replay")
		return reject(problem.OverloadedAfter(time.Second))
	}
}
