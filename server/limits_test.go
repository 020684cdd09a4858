//go:build cgo

// These tests drive the real llama.cpp engine (cgo).

package server_test

import (
	"crypto/sha256"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sottolabs/sotto/crypto"
	"github.com/sottolabs/sotto/crypto/pow"
	"github.com/sottolabs/sotto/internal/locked"
	"github.com/sottolabs/sotto/server"
	"github.com/sottolabs/sotto/server/problem"
)

func wantRetryAfter(t *testing.T, r *result, min, max int) {
	t.Helper()
	n, err := strconv.Atoi(r.header.Get("Retry-After"))
	if err != nil || n < min || n > max {
		t.Errorf("Retry-After %q, want %d..%d", r.header.Get("Retry-After"), min, max)
	}
}

// TestRateLimitPerIP: every request from the address counts, refused ones
// too, and the refusal says when to retry.
func TestRateLimitPerIP(t *testing.T) {
	h := newHarness(t, config{ipPerMinute: 1, ipBurst: 3, devices: 2})
	a := h.client(h.devices[0], crypto.SuiteX25519)
	b := h.client(h.devices[1], crypto.SuiteX25519)
	h.wantReply(t, a.chat(prompt(0), 4), prompt(0), 4)
	// A request refused after the limiter (here #envelope, step 3)
	// still spends a token.
	bad := a.seal(chatJSON(prompt(0), 4))
	bad.body[0] = 9
	wantProblem(t, a.send(bad), 400, problem.Envelope)
	h.wantReply(t, b.chat(prompt(1), 4), prompt(1), 4)
	// The burst of 3 is spent, whichever device sent what.
	for _, c := range []*client{a, b} {
		r := c.chat(prompt(2), 4)
		wantProblem(t, r, 429, problem.RateLimited)
		wantRetryAfter(t, r, 1, 60)
	}
}

// TestRateLimitPerDevice: a device over its budget is refused; another
// device from the same address is not.
func TestRateLimitPerDevice(t *testing.T) {
	h := newHarness(t, config{devPerMinute: 1, devBurst: 2, devices: 2})
	a := h.client(h.devices[0], crypto.SuiteX25519)
	b := h.client(h.devices[1], crypto.SuiteXWing)
	for i := range 2 {
		h.wantReply(t, a.chat(prompt(i), 4), prompt(i), 4)
	}
	r := a.chat(prompt(2), 4)
	wantProblem(t, r, 429, problem.RateLimited)
	wantRetryAfter(t, r, 1, 60)
	h.wantReply(t, b.chat(prompt(2), 4), prompt(2), 4)
}

// TestStreamsPerDevice: a device with its concurrent streams in flight is
// refused another; the slot frees when the stream ends.
func TestStreamsPerDevice(t *testing.T) {
	h := newHarness(t, config{streamsPerDevice: 1, devices: 2, queueDepth: 4})
	a := h.client(h.devices[0], crypto.SuiteX25519)
	b := h.client(h.devices[1], crypto.SuiteX25519)
	h.expected(prompt(0), 4) // before the engine is stalled
	st := stall(t, h.engine)

	// a's first stream starts (headers and nonce are sent before the
	// engine runs) and waits in the engine queue.
	s := a.seal(chatJSON(prompt(0), 4))
	resp := h.post(a.http, strings.NewReader(string(s.body)), int64(len(s.body)), s.header)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("first stream: %d", resp.StatusCode)
	}
	r := a.chat(prompt(1), 4)
	wantProblem(t, r, 429, problem.RateLimited)
	wantRetryAfter(t, r, 1, 1)
	// b is not limited by a's stream: it is admitted (and queued).
	sb := b.seal(chatJSON(prompt(0), 4))
	respB := h.post(b.http, strings.NewReader(string(sb.body)), int64(len(sb.body)), sb.header)
	defer respB.Body.Close()
	if respB.StatusCode != http.StatusOK {
		t.Fatalf("other device: %d", respB.StatusCode)
	}
	st.free()
	h.wantReply(t, h.read(resp, s.sc), prompt(0), 4)
	h.wantReply(t, h.read(respB, sb.sc), prompt(0), 4)
	h.wantReply(t, a.chat(prompt(0), 4), prompt(0), 4)
}

// TestProofOfWork: with POW_MODE=always a request without work gets a
// challenge (member and header); the same body with a solution is served;
// a solution for another body is not accepted.
func TestProofOfWork(t *testing.T) {
	h := newHarness(t, config{powMode: server.PoWAlways, powBits: 8})
	c := h.client(h.devices[0], crypto.SuiteX25519)
	s := c.seal(chatJSON(prompt(0), 8))
	r := c.send(s)
	wantProblem(t, r, 429, problem.PoW)
	challenge := r.prob.Challenge
	if !strings.HasPrefix(challenge, "v1;bits=8;exp=") || r.header.Get(problem.PoWChallengeHeader) != challenge {
		t.Fatalf("challenge member %q, header %q", challenge, r.header.Get(problem.PoWChallengeHeader))
	}

	other := c.seal(chatJSON(prompt(1), 8))
	wrong, err := pow.Solve(challenge, sha256.Sum256(other.body))
	if err != nil {
		t.Fatal(err)
	}
	s.header.Set("Sotto-PoW", wrong)
	// 8 bits: a solution for another body passes for this one with
	// probability 1/256; the test would fail then, so check it first.
	if h2 := sha256.Sum256(s.body); h.issuer.Verify(wrong, h2, h.now()) == nil {
		t.Skip("the other body's solution happens to solve this one")
	}
	wantProblem(t, c.send(s), 429, problem.PoW)

	answer, err := pow.Solve(challenge, sha256.Sum256(s.body))
	if err != nil {
		t.Fatal(err)
	}
	s.header.Set("Sotto-PoW", answer)
	h.wantReply(t, c.send(s), prompt(0), 8)
}

// TestOverloadedQueueFull: with the only slot busy and no queue, a request
// is refused before decryption with 503 and Retry-After; once the slot
// frees, requests are served again.
func TestOverloadedQueueFull(t *testing.T) {
	h := newHarness(t, config{slots: 1, queueDepth: 0})
	c := h.client(h.devices[0], crypto.SuiteX25519)
	h.expected(prompt(0), 8)
	st := stall(t, h.engine)
	for _, suite := range []crypto.Suite{crypto.SuiteX25519, crypto.SuiteXWing} {
		c.suite = suite
		r := c.chat(prompt(0), 8)
		wantProblem(t, r, 503, problem.Overloaded)
		wantRetryAfter(t, r, 1, 1)
	}
	st.free()
	waitFor(t, "the engine to go idle", 30*time.Second, func() bool { return h.engine.Stats().BusySlots == 0 })
	h.wantReply(t, c.chat(prompt(0), 8), prompt(0), 8)
}

// TestOverloadedLockedBudget: a request whose locked memory (body copy,
// stream buffers, sealer scratch) does not fit the budget is refused with
// 503, not served and not crashed.
func TestOverloadedLockedBudget(t *testing.T) {
	b := locked.NewBudget(256 << 10)
	h := newHarness(t, config{budget: b})
	c := h.client(h.devices[0], crypto.SuiteX25519)
	h.wantReply(t, c.chat(prompt(0), 8), prompt(0), 8)
	// Fill the budget with someone else's locked memory.
	hog, err := b.Alloc(int(b.Limit() - b.InUse() - 64<<10))
	if err != nil {
		t.Fatal(err)
	}
	r := c.chat(prompt(0), 8)
	wantProblem(t, r, 503, problem.Overloaded)
	wantRetryAfter(t, r, 1, 1)
	hog.Destroy()
	h.wantReply(t, c.chat(prompt(0), 8), prompt(0), 8)
	if b.Peak() > b.Limit() {
		t.Errorf("peak %d over the limit %d", b.Peak(), b.Limit())
	}
}

// TestOverloadedReplayRegisterFull: a full replay register refuses new
// requests with 503 rather than evicting a live rid (protocol section 4,
// step 10), and the refused request's rid is not registered.
func TestOverloadedReplayRegisterFull(t *testing.T) {
	h := newHarness(t, config{replayCapacity: 1})
	c := h.client(h.devices[0], crypto.SuiteX25519)
	first := c.seal(chatJSON(prompt(0), 4))
	h.wantReply(t, c.send(first), prompt(0), 4)
	r := c.chat(prompt(1), 4)
	wantProblem(t, r, 503, problem.Overloaded)
	wantRetryAfter(t, r, 1, 1)
	// The live entry was kept: the first request is still a replay.
	wantProblem(t, c.send(first), 400, problem.Replay)
}

// TestProofOfWorkAuto: with POW_MODE=auto, work is asked for only while
// the engine is busier than the threshold; a solved request then meets
// admission as usual.
func TestProofOfWorkAuto(t *testing.T) {
	h := newHarness(t, config{powMode: server.PoWAuto, slots: 1, queueDepth: 0})
	c := h.client(h.devices[0], crypto.SuiteX25519)
	h.wantReply(t, c.chat(prompt(0), 4), prompt(0), 4)
	st := stall(t, h.engine) // 1 of 1 slots busy: over the 0.8 threshold
	s := c.seal(chatJSON(prompt(0), 4))
	r := c.send(s)
	wantProblem(t, r, 429, problem.PoW)
	answer, err := pow.Solve(r.prob.Challenge, sha256.Sum256(s.body))
	if err != nil {
		t.Fatal(err)
	}
	s.header.Set("Sotto-PoW", answer)
	wantProblem(t, c.send(s), 503, problem.Overloaded)
	st.free()
	// A free slot by Stats is a place a new Generate gets (llama
	// TestFreeSlotIsAdmission): the next chat is admitted and served.
	waitFor(t, "the engine to go idle", 30*time.Second, func() bool { return h.engine.Stats().BusySlots == 0 })
	h.wantReply(t, c.chat(prompt(1), 4), prompt(1), 4)
}
