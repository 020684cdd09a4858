//go:build cgo

// These tests drive the real llama.cpp engine (cgo).

package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sottolabs/sotto/crypto"
	"github.com/sottolabs/sotto/server/problem"
)

// TestDisconnectCancelsGeneration: a client that goes away mid-stream
// frees its slot, its generation ends as cancelled, and the server keeps
// serving.
//
// stories260K would finish a whole generation before the client could hang
// up, so a staller paces the engine one step at a time until the client
// has its first chunk, then holds it until the server has seen the
// disconnect: the generation is certainly still running when the client
// leaves.
func TestDisconnectCancelsGeneration(t *testing.T) {
	gone := make(chan struct{}, 8)
	wrap := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/api/chat" {
				stop := context.AfterFunc(r.Context(), func() { gone <- struct{}{} })
				defer stop()
			}
			next.ServeHTTP(w, r)
		})
	}
	h := newHarness(t, config{slots: 2, queueDepth: 2, wrap: wrap})
	c := h.client(h.devices[0], crypto.SuiteX25519)
	const maxTokens = 200
	h.expected(prompt(0), 8)
	st := stall(t, h.engine)

	s := c.seal(chatJSON(prompt(0), maxTokens))
	resp := h.post(c.http, bytes.NewReader(s.body), int64(len(s.body)), s.header)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	stopFeeding := make(chan struct{})
	fed := make(chan int)
	go func() {
		n := 0
		defer func() { fed <- n }()
		for {
			select {
			case <-stopFeeding:
				return
			case st.step <- struct{}{}:
				n++
				time.Sleep(2 * time.Millisecond) // pacing, so the client keeps up
			}
		}
	}()
	o := crypto.NewStreamOpener(s.sc)
	buf := make([]byte, 512)
	for got := false; !got; {
		n, err := resp.Body.Read(buf)
		_ = o.Feed(buf[:n])
		for {
			ch, err := o.Next()
			if err != nil {
				break
			}
			if ch.Final != nil {
				t.Fatalf("stream ended before the client left: %+v", *ch.Final)
			}
			got = len(ch.Delta) > 0
		}
		if err != nil && !got {
			t.Fatalf("reading the first chunk: %v", err)
		}
	}
	close(stopFeeding)
	steps := <-fed
	resp.Body.Close() // not read to the end: the transport drops the connection
	select {
	case <-gone:
	case <-time.After(30 * time.Second):
		t.Fatal("the server never saw the disconnect")
	}
	st.free()
	waitFor(t, "the slot to free", 10*time.Second, func() bool {
		s := h.engine.Stats()
		return s.BusySlots == 0 && s.Queued == 0
	})
	waitFor(t, "the chat log line", 10*time.Second, func() bool { return strings.Contains(h.logs.String(), `"msg":"chat"`) })
	line := chatLogLines(t, h.logs.String())[0]
	t.Logf("disconnected after %d engine steps: %+v", steps, line)
	if line.Finish != crypto.FinishCancelled || line.CompletionTokens >= maxTokens || line.CompletionTokens > steps+1 {
		t.Errorf("log line %+v after %d engine steps: want a cancelled, short generation", line, steps)
	}
	h.wantReply(t, c.chat(prompt(0), 8), prompt(0), 8)
}

type chatLine struct {
	Msg              string `json:"msg"`
	Finish           string `json:"finish"`
	PromptTokens     int    `json:"prompt_tokens"`
	CompletionTokens int    `json:"completion_tokens"`
}

func chatLogLines(t *testing.T, logs string) []chatLine {
	t.Helper()
	var out []chatLine
	for _, l := range strings.Split(strings.TrimSpace(logs), "\n") {
		var cl chatLine
		if err := json.Unmarshal([]byte(l), &cl); err != nil {
			t.Fatalf("log line is not JSON: %v", err)
		}
		if cl.Msg == "chat" {
			out = append(out, cl)
		}
	}
	return out
}

// TestConcurrentStreams: 50 devices stream at once; each stream completes
// with exactly the engine's text or is refused cleanly (503 #overloaded,
// 429); with a queue deep enough all complete. No goroutine outlives them.
func TestConcurrentStreams(t *testing.T) {
	const n = 50
	h := newHarness(t, config{slots: 4, queueDepth: 64, devices: n})
	clients := make([]*client, n)
	for i := range clients {
		suite := crypto.SuiteX25519
		if i%5 == 0 {
			suite = crypto.SuiteXWing
		}
		clients[i] = h.client(h.devices[i], suite)
	}
	for i := range 5 {
		h.expected(prompt(i), 24)
	}
	runtime.GC()
	baseline := runtime.NumGoroutine()
	lockedBefore := h.budget.InUse()

	results := make([]*result, n)
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Go(func() { results[i] = c.chat(prompt(i), 24) })
	}
	wg.Wait()
	var ok, overloaded, limited int
	for i, r := range results {
		switch {
		case r.status == http.StatusOK:
			h.wantReply(t, r, prompt(i), 24)
			ok++
		case r.status == 503 && r.prob.Type == problem.TypeBase+problem.Overloaded:
			overloaded++
		case r.status == 429 && r.prob.Type == problem.TypeBase+problem.RateLimited:
			limited++
		default:
			t.Errorf("client %d: %d %s", i, r.status, r.body)
		}
	}
	t.Logf("%d completed, %d overloaded, %d rate-limited", ok, overloaded, limited)
	if ok != n {
		t.Errorf("%d of %d streams completed with a queue of 64", ok, n)
	}

	for _, c := range clients {
		c.http.CloseIdleConnections()
	}
	waitFor(t, "goroutines to return to the baseline", 10*time.Second, func() bool {
		return runtime.NumGoroutine() <= baseline+2
	})
	if s := h.engine.Stats(); s.BusySlots != 0 || s.Queued != 0 {
		t.Errorf("engine not idle: %+v", s)
	}
	// Every stream's locked buffers are back in the budget.
	if in := h.budget.InUse(); in != lockedBefore {
		t.Errorf("locked bytes in use %d, %d before the streams", in, lockedBefore)
	}
}

// TestQueuedRequestsAllServed: requests that wait in the engine queue
// behind a busy slot are all served once it frees, more of them than
// there are slots included.
//
// It fails at the time of writing: llama/scheduler.go run() sleeps on
// e.wake (capacity 1, one signal for many enqueues) whenever no slot is
// active, even with jobs still queued, so with Slots 1 and three queued
// requests the last two wait until some later request arrives. The fix
// belongs in llama/ (wait only when e.order and the queue are both empty).
func TestQueuedRequestsAllServed(t *testing.T) {
	const n = 3
	h := newHarness(t, config{slots: 1, queueDepth: 4})
	c := h.client(h.devices[0], crypto.SuiteX25519)
	h.expected(prompt(0), 4)
	st := stall(t, h.engine)
	results := make(chan *result, n)
	for range n {
		s := c.seal(chatJSON(prompt(0), 4))
		resp := h.post(c.http, bytes.NewReader(s.body), int64(len(s.body)), s.header)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
		go func() {
			defer resp.Body.Close()
			results <- h.read(resp, s.sc)
		}()
	}
	waitFor(t, "the requests to queue", 10*time.Second, func() bool { return h.engine.Stats().Queued == n })
	st.free()
	for i := range n {
		select {
		case r := <-results:
			h.wantReply(t, r, prompt(0), 4)
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of %d queued requests never served; engine %+v", n-i, n, h.engine.Stats())
		}
	}
}
