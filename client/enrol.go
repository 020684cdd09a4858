package client

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/sottolabs/sotto/crypto/device/attest"
	"github.com/sottolabs/sotto/crypto/device/enrol"
	"github.com/sottolabs/sotto/crypto/wire"
)

// maxEnrolAnswer bounds the body of an enrolment answer.
const maxEnrolAnswer = 16 << 10

// Attester produces platform evidence that this app, on this device,
// asked to enrol the device key (docs/enrolment.md): on iOS App Attest's
// attestKey, on Android a Play Integrity token, both over clientDataHash.
// The Go client ships only InsecureSoftwareAttester; mobile apps call
// their platform from Swift or Kotlin and send the same request.
type Attester interface {
	// Attest returns the evidence fields of the enrolment request (its
	// Platform and the platform's members) over clientDataHash.
	Attest(ctx context.Context, clientDataHash [32]byte) (enrol.Request, error)
}

// InsecureSoftwareAttester is the development attester: its evidence is
// the client data hash itself, which proves nothing about the app or the
// device. Servers accept it only with SOTTO_ENROL_SOFTWARE, which
// production refuses. For development and tests only.
type InsecureSoftwareAttester struct{}

// Attest implements Attester.
func (InsecureSoftwareAttester) Attest(_ context.Context, cdh [32]byte) (enrol.Request, error) {
	return enrol.Request{Platform: enrol.Software,
		Evidence: base64.RawURLEncoding.EncodeToString(attest.SoftwareEvidence(cdh))}, nil
}

// Enrol enrols the device key with the server: it asks a challenge, has a
// attest its key over the challenge, and keeps the credential the server
// answers, which every later request carries (Sotto-Enrolment). It
// returns the credential's expiry; enrol again before then (the
// server's re-check interval). Refusals are *ProblemError (403
// attestation, with a code).
func (c *Client) Enrol(ctx context.Context, a Attester) (time.Time, error) {
	var cr enrol.ChallengeResponse
	if err := c.postEnrol(ctx, wire.PathEnrollChallenge, nil, &cr); err != nil {
		return time.Time{}, err
	}
	raw, err := base64.RawURLEncoding.DecodeString(cr.Challenge)
	if err != nil {
		return time.Time{}, fmt.Errorf("client: enrolment challenge is not base64url")
	}
	req, err := a.Attest(ctx, attest.ClientDataHash(raw, c.signer.Device()))
	if err != nil {
		return time.Time{}, fmt.Errorf("client: attestation: %w", err)
	}
	req.Challenge = cr.Challenge
	body, err := json.Marshal(req)
	if err != nil {
		return time.Time{}, fmt.Errorf("client: %w", err)
	}
	var resp enrol.Response
	if err := c.postEnrol(ctx, wire.PathEnroll, body, &resp); err != nil {
		return time.Time{}, err
	}
	c.mu.Lock()
	c.credential = resp.Credential
	c.mu.Unlock()
	return resp.Expires, nil
}

// postEnrol posts body (signed by the device key when not nil) and
// decodes a 200 answer into out.
func (c *Client) postEnrol(ctx context.Context, path string, body []byte, out any) error {
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	hreq.Header.Set("Content-Type", wire.MediaTypeJSON)
	if body != nil {
		sig, err := c.signer.SignBody(body)
		if err != nil {
			return fmt.Errorf("client: device signature: %w", err)
		}
		hreq.Header.Set(wire.HeaderDevice, c.signer.Device().String())
		hreq.Header.Set(wire.HeaderSignature, sig)
	}
	resp, err := c.http.Do(hreq)
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return readProblem(resp)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxEnrolAnswer))
	if err != nil || json.Unmarshal(data, out) != nil {
		return fmt.Errorf("client: malformed enrolment answer")
	}
	return nil
}

// enrolment returns the held credential, "" before Enrol.
func (c *Client) enrolment() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.credential
}
