//go:build cgo

package server_test

import (
	"bytes"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/sottolabs/sotto/crypto"
	"github.com/sottolabs/sotto/server/problem"
)

// TestAdmissionBurst: a burst of requests at once against one slot and a
// queue of one: each is a 503 #overloaded before its stream or a 200 that
// ends in a complete reply, never in an error chunk "overloaded" (the
// engine's counts lag the requests admitted since; admission must not
// trust them alone). The engine is not stalled with a request of its own:
// that one would take a place the server does not know of.
func TestAdmissionBurst(t *testing.T) {
	const n = 16
	h := newHarness(t, config{slots: 1, queueDepth: 1, streamsPerDevice: n})
	c := h.client(h.devices[0], crypto.SuiteX25519)
	h.expected(prompt(0), 4)
	reqs := make([]*sealed, n)
	for i := range reqs {
		reqs[i] = c.seal(chatJSON(prompt(0), 4))
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var streams []*http.Response
	var scs []*crypto.SenderContext
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			s := reqs[i]
			resp := h.post(c.http, bytes.NewReader(s.body), int64(len(s.body)), s.header)
			if resp.StatusCode != http.StatusOK {
				wantProblem(t, h.read(resp, s.sc), http.StatusServiceUnavailable, problem.Overloaded)
				resp.Body.Close()
				return
			}
			mu.Lock()
			streams, scs = append(streams, resp), append(scs, s.sc)
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	if len(streams) == 0 {
		t.Errorf("none of %d requests got a 200", n)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i, resp := range streams {
			h.wantReply(t, h.read(resp, scs[i]), prompt(0), 4)
			resp.Body.Close()
		}
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("admitted requests were not served")
	}
}
