//go:build cgo

// These tests drive the real llama.cpp engine (cgo).

package server_test

import (
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/sottolabs/sotto/crypto"
	"github.com/sottolabs/sotto/server/problem"
)

// TestSizeBeforeMediaType: protocol section 4 step 1 (issue 14 point
// 10): a declared oversize body is 413 whatever its type; a wrong type
// is 415 before an undeclared body is read; malformed media types are
// 415 and parameters are ignored.
func TestSizeBeforeMediaType(t *testing.T) {
	h := newHarness(t, config{})
	c := h.client(h.devices[0], crypto.SuiteX25519)
	big := make([]byte, crypto.MaxBodySize(crypto.SuiteXWing)+1)

	s := c.seal(chatJSON(prompt(0), 4))
	s.header.Set("Content-Type", "text/plain")
	wantProblem(t, c.send(&sealed{body: big, header: s.header}), 413, problem.TooLarge)

	resp := h.post(c.http, io.MultiReader(bytes.NewReader(big)), -1, s.header)
	wantProblem(t, h.read(resp, nil), 415, problem.MediaType)
	resp.Body.Close()

	for _, ct := range []string{"application/sotto-request; =", "application/sotto-request/x", ""} {
		s := c.seal(chatJSON(prompt(0), 4))
		s.header.Set("Content-Type", ct)
		wantProblem(t, c.send(s), 415, problem.MediaType)
	}
	s = c.seal(chatJSON(prompt(0), 4))
	s.header.Set("Content-Type", "Application/Sotto-Request; charset=utf-8; x=1")
	h.wantReply(t, c.send(s), prompt(0), 4)
}

// TestTimeWindowInclusive: ts exactly 60 s before or after the server's
// clock is accepted, one millisecond more is #date (section 4 step 5).
func TestTimeWindowInclusive(t *testing.T) {
	clk := newClock(time.Now())
	h := newHarness(t, config{clock: clk})
	c := h.client(h.devices[0], crypto.SuiteX25519)
	k := c.currentKey()
	for _, tc := range []struct {
		off time.Duration
		ok  bool
	}{
		{-60 * time.Second, true}, {60 * time.Second, true},
		{-60*time.Second - time.Millisecond, false}, {60*time.Second + time.Millisecond, false},
	} {
		r := c.send(c.sealTo(chatJSON(prompt(1), 4), k.KeyID, crypto.SuiteX25519, k.PublicKey, clk.Now().Add(tc.off)))
		if tc.ok {
			h.wantReply(t, r, prompt(1), 4)
		} else {
			wantProblem(t, r, 400, problem.Date)
		}
	}
}
