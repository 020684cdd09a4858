package server

import (
	"errors"
	"mime"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sottolabs/sotto/crypto/device/enrol"
	"github.com/sottolabs/sotto/crypto/wire"
	"github.com/sottolabs/sotto/server/intake"
	"github.com/sottolabs/sotto/server/problem"
)

// maxEnrolBody bounds an enrolment request: an App Attest attestation
// object is about 5.5 KiB, base64url 7.5 KiB; a verdict token under 16.
const maxEnrolBody = 64 << 10

// enrolMetrics counts enrolments by platform and outcome ("issued" or a
// refusal code), never by device.
type enrolMetrics struct{ total *prometheus.CounterVec }

func newEnrolMetrics(reg prometheus.Registerer) (*enrolMetrics, error) {
	m := &enrolMetrics{total: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sotto_enrolments_total",
		Help: "Enrolment requests by platform and outcome (issued, or the refusal code of docs/protocol.md 6b).",
	}, []string{"platform", "outcome"})}
	if err := reg.Register(m.total); err != nil {
		return nil, err
	}
	return m, nil
}

// observe counts one enrolment; platforms outside the vocabulary are
// "other" (the label never carries what a client sent).
func (m *enrolMetrics) observe(platform, outcome string) {
	switch platform {
	case enrol.Apple, enrol.Android, enrol.Software:
	default:
		platform = "other"
	}
	m.total.WithLabelValues(platform, outcome).Inc()
}

// handleEnrollChallenge serves POST /api/enroll/challenge: a fresh
// single-use challenge, after the per-address limit.
func (s *Server) handleEnrollChallenge(c echo.Context) error {
	if p := s.limitAddress(c.Request(), s.now()); p != nil {
		s.refuse(c.Response(), p)
		return nil
	}
	cr, err := s.enrol.Challenge()
	if err != nil {
		s.log.Error("enrolment challenge", "err", err)
		s.refuse(c.Response(), reject(problem.New(problem.Internal)))
		return nil
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, cr)
}

// handleEnroll serves POST /api/enroll: the evidence is checked and a
// credential answered, or 403 #attestation with the refusal's code.
func (s *Server) handleEnroll(c echo.Context) error {
	r := c.Request()
	if p := s.readEnrol(r); p != nil {
		s.refuse(c.Response(), p)
		return nil
	}
	body, p := intake.ReadBody(r, maxEnrolBody)
	if p != nil {
		s.refuse(c.Response(), p)
		return nil
	}
	resp, claims, err := s.enrol.Enrol(r.Context(), body, r.Header.Get(wire.HeaderDevice), r.Header.Get(wire.HeaderSignature))
	if err != nil {
		s.enrolRefused(c.Response(), claims.Platform, err)
		return nil
	}
	s.enrolMetrics.observe(claims.Platform, "issued")
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, resp)
}

// readEnrol checks the address limit, the declared length and the media
// type of an enrolment request.
func (s *Server) readEnrol(r *http.Request) *problem.Problem {
	if p := s.limitAddress(r, s.now()); p != nil {
		return p
	}
	if r.ContentLength > maxEnrolBody {
		return reject(problem.New(problem.TooLarge))
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != wire.MediaTypeJSON {
		return reject(problem.New(problem.MediaType))
	}
	return nil
}

// enrolRefused answers a refused enrolment and counts it. The log names
// the code only: evidence and keys never reach it.
func (s *Server) enrolRefused(w http.ResponseWriter, platform string, err error) {
	code := enrol.Code(err)
	s.enrolMetrics.observe(platform, code)
	switch {
	case errors.Is(err, enrol.ErrFull):
		s.refuse(w, overloaded())
	case code == "internal":
		s.log.Error("enrolment failed", "err", err)
		s.refuse(w, reject(problem.New(problem.Internal)))
	default:
		s.log.Debug("enrolment refused", "code", code)
		s.refuse(w, reject(problem.AttestationRefused(code)))
	}
}
