package router

import (
	"context"
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
	arrived  time.Time // when the request arrived: the key check's clock, as on a server
	now      time.Time // after the whole body was read: the ts window is checked against it
	body     []byte
	bodyHash [32]byte
	hdr      crypto.Header
	deviceID string
	release  func()    // frees the device's concurrent-stream slot
	unhold   func()    // returns the body's bytes to the in-flight cap
	expires  time.Time // of the router's rid claim; zero until claimed
}

// cleanup frees what the request holds once it is answered.
func (c *chat) cleanup() {
	if c.release != nil {
		c.release()
	}
	if c.unhold != nil {
		c.unhold()
	}
}

// step is one check; a non-nil problem refuses the request.
type step func(*chat) *problem.Problem

// steps are the checks of protocol section 4 that need no private key, in
// order, then the router's rid claim. Step 4 (the key) runs against the
// public key configuration the router serves; the worker checks it again
// against its own keys.
func (r *Router) steps() []step {
	return []step{
		r.readBody,       // 1. 413, 415
		r.checkClient,    // 2. 429 per IP, proof of work
		r.checkEnvelope,  // 3. 400 #envelope
		r.checkKey,       // 4. 422 #key
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
	// The shared cap before the body is read (section 4 step 1): stalled
	// bodies cannot grow the public edge's heap.
	unhold, ok := r.bodies.Reserve(c.r, r.cfg.MaxBodyBytes)
	if !ok {
		return reject(problem.OverloadedAfter(time.Second))
	}
	c.unhold = unhold
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

// checkKey is step 4 as a server runs it (keys.Store.Lookup): key_id names
// a published key of the header's suite with not_before <= arrival <
// not_after; otherwise 422 #key with the key configuration the router
// serves, so a client refreshes and retries as with a single node.
func (r *Router) checkKey(c *chat) *problem.Problem {
	d := r.keys.Load()
	if d == nil {
		return reject(problem.OverloadedAfter(notReadyRetry))
	}
	for _, k := range d.keys {
		if k.KeyID == c.hdr.KeyID && k.Suite == c.hdr.Suite && !c.arrived.Before(k.NotBefore) && c.arrived.Before(k.NotAfter) {
			return nil
		}
	}
	return reject(problem.KeyConfig(d.body))
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

func (r *Router) checkAdmission(c *chat) *problem.Problem {
	if r.draining.Load() {
		// Shutting down: the same answer as a server's (docs/protocol.md 5.4).
		return reject(problem.OverloadedAfter(notReadyRetry))
	}
	if !r.pool.anyAvailable() {
		return reject(problem.OverloadedAfter(time.Second))
	}
	// Admitted: the workers' capacity bounds these from here on, as the
	// engine's queue does on a server.
	c.unhold()
	return nil
}

// claim registers the rid in the router's register: a second router
// sharing it (Redis) refuses a replay. Workers claim the rid again in
// their own registers (docs/protocol.md, "Routers and workers").
func (r *Router) claim(c *chat) *problem.Problem {
	expires := replay.Expiry(time.UnixMilli(c.hdr.TS), r.cfg.RequestTTL)
	switch err := r.d.Replay.Add(c.r.Context(), c.hdr.RID, expires); {
	case err == nil:
		c.expires = expires
		return nil
	case errors.Is(err, replay.ErrReplay):
		r.d.Metrics.ReplayRejected.Inc()
		return reject(problem.New(problem.Replay))
	case errors.Is(err, replay.ErrExpired):
		// The window ended while the router checked the request: the
		// server's answer (section 4 step 10), which lets a client fix
		// its clock; not a shared-state failure.
		return reject(problem.New(problem.Date))
	default:
		r.metrics.stateError("replay")
		return reject(problem.OverloadedAfter(time.Second))
	}
}

// unclaim withdraws the router's rid claim when no worker registered the
// rid: a request refused by every worker in steps 1-9 (a forgery re-signed
// with a genuine request's rid, say) must not make the genuine one
// #replay (protocol sections 4.1 and 12). The register deletes the entry
// only if it is still this claim's. A register that cannot release keeps
// the claim: the rid stays spent, as if the request had been refused
// after step 10, and the client re-seals (new rid) as it always may.
func (r *Router) unclaim(c *chat) {
	rel, ok := r.d.Replay.(replay.Releaser)
	if !ok || c.expires.IsZero() {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.r.Context()), releaseTimeout)
	defer cancel()
	if err := rel.Release(ctx, c.hdr.RID, c.expires); err != nil {
		r.metrics.stateError("replay")
		r.log.Warn("rid claim not released")
	}
}

// releaseTimeout bounds an unclaim, which runs after the client's answer.
const releaseTimeout = 2 * time.Second
