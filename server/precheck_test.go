//go:build cgo

// These tests drive the real llama.cpp engine (cgo).

package server_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/sottolabs/sotto/crypto"
	"github.com/sottolabs/sotto/llama"
	"github.com/sottolabs/sotto/server/problem"
)

// innerJSON is an inner request with one user message and extra members
// written as given (raw JSON).
func innerJSON(content string, extra string) []byte {
	c, err := json.Marshal(content)
	if err != nil {
		panic(err)
	}
	return []byte(`{"messages":[{"role":"user","content":` + string(c) + `}]` + extra + `}`)
}

// longPrompt is a prompt of more tokens than the harness's 256-token
// context.
var longPrompt = strings.Repeat("Once upon a time there was a dog. ", 40) + canary

// TestRefusedBeforeStream: what the engine would refuse is a 400 #request
// with its code before any 200 (issue 8 item 8, issue 14 point 2), and the
// rid is spent.
func TestRefusedBeforeStream(t *testing.T) {
	h := newHarness(t, config{})
	c := h.client(h.devices[0], crypto.SuiteX25519)
	for _, tc := range []struct {
		name, content, extra, code string
	}{
		{"nul", "a\x00b " + canary, "", crypto.CodeNUL},
		{"prompt over the context", longPrompt, "", crypto.CodeContext},
		{"prompt plus max_tokens", prompt(0), `,"max_tokens":256`, crypto.CodeContextMaxTokens},
		{"top_k over the vocabulary", prompt(0), `,"top_k":1000`, crypto.CodeTopK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := c.seal(innerJSON(tc.content, tc.extra))
			r := c.send(s)
			wantProblem(t, r, 400, problem.Request)
			if r.prob.Code != tc.code {
				t.Errorf("code %q, want %q", r.prob.Code, tc.code)
			}
			wantProblem(t, c.send(s), 400, problem.Replay)
		})
	}
	if st := h.engine.Stats(); st.BusySlots != 0 || st.Queued != 0 {
		t.Errorf("engine busy after refusals: %+v", st)
	}
	// Every refusal released its prepared prompt: the budget is back to
	// what a fresh chat needs.
	h.wantReply(t, c.chat(prompt(1), 4), prompt(1), 4)
}

// promptTokens is the engine's token count of one user message.
func promptTokens(t *testing.T, h *harness, content string) int {
	t.Helper()
	p, err := h.engine.Prepare(&llama.Request{Messages: []llama.Message{{Role: llama.RoleUser, Content: []byte(content)}}, MaxTokens: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Release()
	return p.PromptTokens
}

// TestDefaultMaxTokensClampedToContext: without max_tokens the bound is
// min(DEFAULT_MAX_TOKENS = 32, context left), not a context_overflow.
func TestDefaultMaxTokensClampedToContext(t *testing.T) {
	h := newHarness(t, config{})
	c := h.client(h.devices[0], crypto.SuiteX25519)
	short := prompt(2)
	nearFull := strings.Repeat("Once upon a time there was a dog. ", 24) + canary
	left := 256 - promptTokens(t, h, nearFull)
	if left < 1 || left >= 32 {
		t.Fatalf("test prompt leaves %d tokens; want 1..31", left)
	}
	for _, tc := range []struct {
		content string
		bound   int
	}{{short, 32}, {nearFull, left}} {
		r := c.send(c.seal(innerJSON(tc.content, `,"temperature":0`)))
		h.wantReply(t, r, tc.content, tc.bound)
	}
}

// TestSeedRange: seeds are reduced modulo 2^32-1, so llama.cpp's
// "random" seed 2^32-1 is never passed: it and 2^64-1 sample as seed 0
// does, 2^32 as seed 1 does, and each is reproducible.
func TestSeedRange(t *testing.T) {
	h := newHarness(t, config{})
	c := h.client(h.devices[0], crypto.SuiteX25519)
	reply := func(seed uint64) string {
		t.Helper()
		r := c.send(c.seal(innerJSON(prompt(3), fmt.Sprintf(`,"temperature":1.5,"top_k":0,"top_p":1,"max_tokens":24,"seed":%d`, seed))))
		if r.status != 200 || r.streamErr != nil || r.final.Reason == crypto.FinishError {
			t.Fatalf("seed %d: status %d, stream %v, final %+v", seed, r.status, r.streamErr, r.final)
		}
		return r.text
	}
	zero, one := reply(0), reply(1)
	if zero == one {
		t.Fatalf("seeds 0 and 1 gave the same reply %q: the test cannot tell seeds apart", zero)
	}
	for seed, want := range map[uint64]string{1<<32 - 1: zero, 1<<64 - 1: zero, 1 << 32: one} {
		for range 2 {
			if got := reply(seed); got != want {
				t.Errorf("seed %d: %q, want %q", seed, got, want)
			}
		}
	}
}
