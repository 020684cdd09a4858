package router

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

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
