//go:build cgo

// These tests drive the real llama.cpp engine (cgo).

package server_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sottolabs/sotto/crypto"
	"github.com/sottolabs/sotto/crypto/device"
	"github.com/sottolabs/sotto/crypto/device/attest"
	"github.com/sottolabs/sotto/crypto/device/attest/attesttest"
	"github.com/sottolabs/sotto/crypto/device/enrol"
	"github.com/sottolabs/sotto/crypto/replay"
	"github.com/sottolabs/sotto/crypto/wire"
)

const enrolAppID = "ABCDE12345.com.example.sotto"

// newEnrolment builds the attested policy: App Attest under a test root
// and the store's signing key, credentials for an hour.
func (h *harness) newEnrolment(now func() time.Time) device.Policy {
	h.appleCA = attesttest.NewAppleCA(h.now())
	h.enrol = enrol.New(enrol.Config{
		Signer: h.store, Register: replay.NewMemoryClock(1000, now), TTL: time.Hour, Now: now,
		Apple: &attest.AppAttest{AppIDs: []string{enrolAppID}, Roots: h.appleCA.Roots, Now: now},
	})
	return h.enrol.Policy()
}

var b64u = base64.RawURLEncoding

// postJSON posts body to path with the device's key and signature.
func (h *harness) postJSON(path string, body []byte, dev *testDevice, contentType string) *result {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.url(path), bytes.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	if dev != nil {
		sig, err := device.Sign(dev.priv, body)
		if err != nil {
			h.t.Fatal(err)
		}
		req.Header.Set(wire.HeaderDevice, dev.header)
		req.Header.Set(wire.HeaderSignature, sig)
		h.secret(sig)
	}
	resp, err := h.ts.Client().Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	r := &result{status: resp.StatusCode, header: resp.Header}
	r.body, _ = io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		_ = json.Unmarshal(r.body, &r.prob)
	}
	return r
}

// appleEnrolment asks a challenge and attests dev's key for appID.
func (h *harness) appleEnrolment(dev *testDevice, appID string) []byte {
	h.t.Helper()
	r := h.postJSON(wire.PathEnrollChallenge, nil, nil, wire.MediaTypeJSON)
	var cr enrol.ChallengeResponse
	if r.status != http.StatusOK || json.Unmarshal(r.body, &cr) != nil {
		h.t.Fatalf("challenge: %d %s", r.status, r.body)
	}
	raw, _ := b64u.DecodeString(cr.Challenge)
	obj, kid, _ := h.appleCA.Attest(attesttest.Attestation{AppID: appID}, attest.ClientDataHash(raw, dev.key))
	h.secret(b64u.EncodeToString(obj))
	body, _ := json.Marshal(enrol.Request{Challenge: cr.Challenge, Platform: enrol.Apple,
		KeyID: b64u.EncodeToString(kid), Attestation: b64u.EncodeToString(obj)})
	return body
}

// TestEnrolThenChat: under the attested policy a device is refused until
// it enrols through App Attest, then served with its credential; the
// enrolment refusals are 403 #attestation with their code, and metrics
// count outcomes, never devices.
func TestEnrolThenChat(t *testing.T) {
	h := newHarness(t, config{enrolment: true})
	dev := h.newDevice()
	c := h.client(dev, crypto.SuiteX25519)
	wantProblem(t, c.chat(prompt(0), 8), http.StatusUnauthorized, wire.ProblemDevice)

	body := h.appleEnrolment(dev, enrolAppID)
	r := h.postJSON(wire.PathEnroll, body, dev, wire.MediaTypeJSON)
	var resp enrol.Response
	if r.status != http.StatusOK || json.Unmarshal(r.body, &resp) != nil || resp.Credential == "" {
		t.Fatalf("enrol: %d %s", r.status, r.body)
	}
	h.secret(resp.Credential)
	s := c.seal(chatJSON(prompt(0), 8))
	s.header.Set(wire.HeaderEnrolment, resp.Credential)
	h.wantReply(t, c.send(s), prompt(0), 8)

	other := h.newDevice()
	s = h.client(other, crypto.SuiteX25519).seal(chatJSON(prompt(1), 8))
	s.header.Set(wire.HeaderEnrolment, resp.Credential)
	wantProblem(t, c.send(s), http.StatusUnauthorized, wire.ProblemDevice)

	refusals := []struct {
		name, code string
		r          *result
	}{
		{"replayed challenge", "challenge_used", h.postJSON(wire.PathEnroll, body, dev, wire.MediaTypeJSON)},
		{"other device key", "nonce", h.postJSON(wire.PathEnroll, h.appleEnrolment(dev, enrolAppID), other, wire.MediaTypeJSON)},
		{"wrong app", "app", h.postJSON(wire.PathEnroll, h.appleEnrolment(dev, "ABCDE12345.other"), dev, wire.MediaTypeJSON)},
		{"unsigned", "device", h.postJSON(wire.PathEnroll, h.appleEnrolment(dev, enrolAppID), nil, wire.MediaTypeJSON)},
	}
	for _, x := range refusals {
		if x.r.status != http.StatusForbidden || x.r.prob.Type != wire.ProblemTypeBase+wire.ProblemAttestation || x.r.prob.Code != x.code {
			t.Errorf("%s: %d %s", x.name, x.r.status, x.r.body)
		}
	}
	if r := h.postJSON(wire.PathEnroll, body, dev, "text/plain"); r.status != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain: %d", r.status)
	}
	for _, line := range []string{
		`sotto_enrolments_total{outcome="issued",platform="apple"} 1`,
		`sotto_enrolments_total{outcome="challenge_used",platform="apple"} 1`,
		`sotto_enrolments_total{outcome="nonce",platform="apple"} 1`,
		`sotto_enrolments_total{outcome="device",platform="other"} 1`,
	} {
		if !strings.Contains(h.metricsText(), line) {
			t.Errorf("metrics lack %s", line)
		}
	}
}

func (h *harness) metricsText() string {
	h.t.Helper()
	resp, err := h.ts.Client().Get(h.url(wire.PathMetrics))
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestEnrolledDeviceIsRateLimited: an enrolled device is still held to
// the per-device limits.
func TestEnrolledDeviceIsRateLimited(t *testing.T) {
	h := newHarness(t, config{enrolment: true, devPerMinute: 1, devBurst: 1})
	dev := h.newDevice()
	c := h.client(dev, crypto.SuiteX25519)
	r := h.postJSON(wire.PathEnroll, h.appleEnrolment(dev, enrolAppID), dev, wire.MediaTypeJSON)
	var resp enrol.Response
	if r.status != http.StatusOK || json.Unmarshal(r.body, &resp) != nil {
		t.Fatalf("enrol: %d %s", r.status, r.body)
	}
	h.secret(resp.Credential)
	send := func() *result {
		s := c.seal(chatJSON(prompt(0), 4))
		s.header.Set(wire.HeaderEnrolment, resp.Credential)
		return c.send(s)
	}
	h.wantReply(t, send(), prompt(0), 4)
	wantProblem(t, send(), http.StatusTooManyRequests, wire.ProblemRateLimited)
}
