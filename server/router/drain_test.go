package router

import (
	"bytes"
	"net/http"
	"testing"
)

// TestDrainingAnswersRetryAfter5: a router shutting down answers a chat
// as a server does (docs/protocol.md 5.4): 503 #overloaded with
// Retry-After: 5, without sending it to a worker.
func TestDrainingAnswersRetryAfter5(t *testing.T) {
	w := newFakeWorker(t, http.StatusOK)
	ts, r := newTestRouterWith(t, nil, w)
	r.SetDraining(true)
	body, h := sealed(t)
	resp, doc := post(t, ts.URL, body, h)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "5" || !bytes.Contains(doc, []byte("#overloaded")) {
		t.Fatalf("chat to a draining router: %d, Retry-After %q, %s", resp.StatusCode, resp.Header.Get("Retry-After"), doc)
	}
	if w.chatCount() != 0 {
		t.Fatal("a draining router sent the chat to a worker")
	}
}
