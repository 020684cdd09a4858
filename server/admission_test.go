//go:build cgo

package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/sottolabs/sotto/crypto"
)

// TestAdmissionCostCoversPeak: for requests of several shapes, the locked
// memory admission reserves for a request (Server.AdmissionCost) is at
// least the peak locked memory the request really holds: the opened
// request, the stream's buffers and sealer scratch, and the engine's
// prompt buffers.
func TestAdmissionCostCoversPeak(t *testing.T) {
	h := newHarness(t, config{})
	c := h.client(h.devices[0], crypto.SuiteX25519)
	h.expected(prompt(0), 4) // the engine's own run, outside the measurement
	many := make([]map[string]string, 12)
	for i := range many {
		many[i] = map[string]string{"role": "user", "content": "the dog ran " + strings.Repeat("a", i%3)}
	}
	manyJSON, _ := json.Marshal(map[string]any{"messages": many, "max_tokens": 8, "temperature": 0})
	bigJSON := chatJSON(strings.Repeat("Once upon a time ", 6000), 8) // overflows the 256-token context
	for _, tc := range []struct {
		name   string
		inner  []byte
		status int // the 100 KB prompt is refused by the engine check (400 #request context), after its peak
	}{
		{"short", chatJSON(prompt(0), 16), http.StatusOK},
		{"twelve messages", manyJSON, http.StatusOK},
		{"100 KB prompt", bigJSON, http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := c.seal(tc.inner)
			baseline := h.budget.InUse()
			h.budget.ResetPeak()
			r := c.send(s)
			if r.status != tc.status || (tc.status == http.StatusOK && r.streamErr != nil) {
				t.Fatalf("status %d %s %v", r.status, r.body, r.streamErr)
			}
			peak := h.budget.Peak() - baseline
			est := h.srv.AdmissionCost(len(s.body))
			t.Logf("body %d B: peak %d B locked, estimate %d B (finish %s %s)", len(s.body), peak, est, r.final.Reason, r.final.ErrorCode)
			if est < peak {
				t.Fatalf("admission estimate %d < measured peak %d", est, peak)
			}
			if h.budget.InUse() != baseline {
				t.Fatalf("locked bytes in use %d after the request, baseline %d", h.budget.InUse(), baseline)
			}
		})
	}
}
