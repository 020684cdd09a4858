package router

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/sottolabs/sotto/crypto/device/enrol"
	"github.com/sottolabs/sotto/crypto/wire"
	"github.com/sottolabs/sotto/server/intake"
	"github.com/sottolabs/sotto/server/problem"
)

// maxEnrolBytes bounds an enrolment request and a worker's answer (an App
// Attest attestation object is about 7.5 KiB in base64url).
const maxEnrolBytes = 64 << 10

// handleEnroll relays POST /api/enroll and /api/enroll/challenge to a
// worker, byte for byte, after the per-address limit: the router holds no
// key directory, so it can neither issue a challenge or a credential nor
// judge the evidence (docs/enrolment.md). It forwards only the body and
// the headers the worker reads.
func (r *Router) handleEnroll(c echo.Context) error {
	req := c.Request()
	if p := r.limitAddress(req, time.Now()); p != nil {
		r.refuse(c.Response(), p)
		return nil
	}
	body, p := intake.ReadBody(req, maxEnrolBytes)
	if p == nil && req.URL.Path == wire.PathEnroll {
		p = r.claimChallenge(req.Context(), body)
	}
	if p != nil {
		r.refuse(c.Response(), p)
		return nil
	}
	u := r.pool.pick(nil, "")
	if u == nil {
		r.refuse(c.Response(), reject(problem.OverloadedAfter(time.Second)))
		return nil
	}
	ctx, cancel := context.WithTimeout(req.Context(), r.cfg.TotalTimeout)
	defer cancel()
	out, err := http.NewRequestWithContext(ctx, http.MethodPost, u.URL+req.URL.Path, bytes.NewReader(body))
	if err != nil {
		r.refuse(c.Response(), reject(problem.New(problem.Internal)))
		return nil
	}
	for _, h := range []string{"Content-Type", wire.HeaderDevice, wire.HeaderSignature} {
		if v := req.Header.Get(h); v != "" {
			out.Header.Set(h, v)
		}
	}
	resp, err := r.cfg.Transport.RoundTrip(out)
	if err != nil {
		r.refuse(c.Response(), reject(problem.OverloadedAfter(time.Second)))
		return nil
	}
	defer resp.Body.Close()
	copyHeaders(c.Response().Header(), resp.Header)
	c.Response().WriteHeader(resp.StatusCode)
	_, _ = io.Copy(c.Response(), io.LimitReader(resp.Body, maxEnrolBytes))
	return nil
}

// claimChallenge registers the enrolment's challenge as used in the
// router's register (Redis when routers share one), as it claims request
// ids: a challenge is then redeemed once across all routers and workers,
// whose own registers are per process. The router cannot verify the
// challenge (it holds no key), so it caps the entry's life at what a
// genuine challenge can have left; an unreadable challenge is left to the
// worker to refuse.
func (r *Router) claimChallenge(ctx context.Context, body []byte) *problem.Problem {
	var req struct {
		Challenge string `json:"challenge"`
	}
	if json.Unmarshal(body, &req) != nil {
		return nil
	}
	id, exp, ok := enrol.ChallengeID(req.Challenge)
	if !ok {
		return nil
	}
	if limit := time.Now().Add(enrol.ChallengeTTL); exp.After(limit) {
		exp = limit
	}
	switch err := enrol.Claim(ctx, r.d.Replay, id, exp); {
	case err == nil:
		return nil
	case errors.Is(err, enrol.ErrChallengeUsed), errors.Is(err, enrol.ErrChallengeExpired):
		return reject(problem.AttestationRefused(enrol.Code(err)))
	default:
		r.metrics.stateError("replay")
		return reject(problem.OverloadedAfter(time.Second))
	}
}
