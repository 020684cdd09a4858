// Package intake holds the checks of a sealed chat request that need no
// private key (protocol section 4, steps 1, 3, 5 and the signature of 7),
// shared by the server (package server) and the blind router
// (server/router), so both judge a request the same way. Each check
// returns the problem to answer, or nil; none reads past the public
// envelope header.
package intake

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/sottolabs/sotto/crypto"
	"github.com/sottolabs/sotto/crypto/device"
	"github.com/sottolabs/sotto/crypto/replay"
	"github.com/sottolabs/sotto/crypto/wire"
	"github.com/sottolabs/sotto/server/problem"
)

func reject(p problem.Problem) *problem.Problem { return &p }

// CheckHead is step 1 before the body is read: a declared length over
// maxBody is 413 #too-large (whatever the type), then a Content-Type that
// is not application/sotto-request is 415 #media-type.
func CheckHead(r *http.Request, maxBody int64) *problem.Problem {
	if r.ContentLength > maxBody {
		return reject(problem.New(problem.TooLarge))
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != wire.MediaTypeRequest {
		return reject(problem.New(problem.MediaType))
	}
	return nil
}

// ReadBody reads the whole body, at most maxBody bytes: a body that grows
// past it is 413 #too-large; one that breaks off is 400 #envelope.
func ReadBody(r *http.Request, maxBody int64) ([]byte, *problem.Problem) {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, reject(problem.New(problem.TooLarge))
		}
		return nil, reject(problem.New(problem.Envelope))
	}
	return body, nil
}

// ParseEnvelope is step 3: the envelope's public structure.
func ParseEnvelope(body []byte) (crypto.Header, *problem.Problem) {
	h, err := crypto.ParseHeader(body)
	if err != nil {
		return h, reject(problem.New(problem.Envelope))
	}
	return h, nil
}

// CheckDate is step 5: ts within window of arrival, the time the whole
// body had arrived (a body trickled in cannot stretch the window).
func CheckDate(h crypto.Header, arrival time.Time, window time.Duration) *problem.Problem {
	if replay.CheckTime(time.UnixMilli(h.TS), arrival, window) != nil {
		return reject(problem.New(problem.Date))
	}
	return nil
}

// VerifyDevice is the first half of step 7: the device key header, its
// signature of the body's SHA-256, and trust by policy (given the
// Sotto-Enrolment credential, for the attested policies); any failure is
// 401 #device, one answer for all.
func VerifyDevice(ctx context.Context, h http.Header, bodyHash [32]byte, policy device.Policy) (device.Key, *problem.Problem) {
	// An enrolment policy reads the credential the device presented.
	ctx = device.WithEnrolment(ctx, h.Get(wire.HeaderEnrolment))
	dk, err := device.ParseKey(h.Get(wire.HeaderDevice))
	if err != nil || dk.VerifyDigest(bodyHash, h.Get(wire.HeaderSignature)) != nil || policy.Trusted(ctx, dk) != nil {
		return device.Key{}, reject(problem.New(problem.Device))
	}
	return dk, nil
}
