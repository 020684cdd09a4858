//go:build cgo

// These tests drive the real llama.cpp engine (cgo).

package server_test

import (
	"net/http"
	"testing"

	"github.com/sottolabs/sotto/crypto"
	"github.com/sottolabs/sotto/internal/locked"
)

// TestAdmissionReclaimsConversationCache: when the locked budget cannot
// admit a request beside the stored conversations, admission empties the
// cache (wiping it) and serves the request, instead of 503 for as long as
// the conversations live (issue 17, item 3).
func TestAdmissionReclaimsConversationCache(t *testing.T) {
	loadModel(t, locked.NewBudget(locked.Unlimited)) // its charges stay out of both budgets below
	first := []convMsg{{"user", prompt(3)}}
	// Measured without a limit: the server's own locked bytes, one stored
	// conversation, one request's admission cost.
	h := newHarness(t, config{prefixCacheBytes: 16 << 20, prefixDevices: 1})
	c := h.client(h.devices[0], crypto.SuiteX25519)
	base := h.budget.InUse()
	c.turn(t, first, newSecret())
	entry := settle(t, h, base)
	need := h.srv.AdmissionCost(len(c.seal(convJSON(first, "")).body))
	// A budget that admits a request beside the server's own bytes, not
	// beside a stored conversation too.
	limit := base + need + entry/2
	h = newHarness(t, config{prefixCacheBytes: limit - 4*locked.Cost(4*256), prefixDevices: 1, budget: locked.NewBudget(limit)})
	if h.budget.InUse() != base {
		t.Fatalf("base %d, measured %d: the calibration does not hold", h.budget.InUse(), base)
	}
	c = h.client(h.devices[0], crypto.SuiteX25519)
	c.turn(t, first, newSecret())
	if held := settle(t, h, base); held != entry {
		t.Fatalf("the cache holds %d bytes, want one conversation of %d", held, entry)
	}
	r := c.send(c.seal(convJSON(first, "")))
	if r.status != http.StatusOK || r.streamErr != nil {
		t.Fatalf("a request that fits only without the cache: %d %s, stream %v", r.status, r.prob.Type, r.streamErr)
	}
	if held := settle(t, h, base); held != 0 {
		t.Fatalf("after admission reclaimed the cache it holds %d bytes", held)
	}
}
