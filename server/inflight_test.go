//go:build cgo

package server_test

import (
	"bufio"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/sottolabs/sotto/crypto"
	"github.com/sottolabs/sotto/server/problem"
)

// readingBody sends on started when the handler first reads the body.
type readingBody struct {
	io.ReadCloser
	started chan<- struct{}
	once    sync.Once
}

func (b *readingBody) Read(p []byte) (int, error) {
	b.once.Do(func() { b.started <- struct{}{} })
	return b.ReadCloser.Read(p)
}

// TestInflightBodyCap: while bodies totalling SOTTO_INFLIGHT_BODY_BYTES
// are still arriving (slowly sent, not yet authenticated), a new request
// is refused with 503 #overloaded before its body is read; once they
// complete, requests are served again.
func TestInflightBodyCap(t *testing.T) {
	started := make(chan struct{}, 8)
	probe := chatJSON(prompt(0), 4)
	padded, _ := crypto.RequestPaddedLen(len(probe))
	bodyLen := int64(crypto.HeaderSize + 32 + padded + crypto.Nt) // X25519's enc is 32 bytes
	h := newHarness(t, config{
		wrap: func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				r.Body = &readingBody{ReadCloser: r.Body, started: started}
				next.ServeHTTP(w, r)
			})
		},
		inflightBodies: 2 * bodyLen, // exactly two bodies of this size
	})
	c := h.client(h.devices[0], crypto.SuiteX25519)

	finish := make(chan struct{})
	release := sync.OnceFunc(func() { close(finish) })
	t.Cleanup(release) // a failure below must not leave the slow requests (and the harness) waiting
	var wg sync.WaitGroup
	statuses := make([]int, 2)
	for i := range 2 {
		s := c.seal(probe)
		if int64(len(s.body)) != bodyLen {
			t.Fatalf("sealed lengths differ: %d, %d", len(s.body), bodyLen)
		}
		wg.Go(func() { statuses[i], _ = slowPost(t, h, s, func() { <-finish }) })
		<-started
	}
	r := c.send(c.seal(probe)) // refused before its body is read
	wantProblem(t, r, http.StatusServiceUnavailable, problem.Overloaded)
	stalledRefusal(t, h, c.seal(probe))
	release()
	wg.Wait()
	if statuses[0] != http.StatusOK || statuses[1] != http.StatusOK {
		t.Fatalf("slow requests: %v, want both 200", statuses)
	}
	if r := c.chat(prompt(0), 4); r.status != http.StatusOK {
		t.Fatalf("after the slow bodies completed: %d %s", r.status, r.body)
	}
}

// stalledRefusal sends all of s's body but its last byte, then reads the
// answer: a request refused before its body is read is answered at once,
// on a connection the server then closes, not after net/http has waited
// for the rest of the body.
func stalledRefusal(t *testing.T, h *harness, s *sealed) {
	t.Helper()
	conn, err := sendAllButLast(h, s)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second)) // a server that drains first fails here instead of hanging
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("stalled request over the cap: no answer before its body ended: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !resp.Close {
		t.Fatalf("stalled request over the cap: %d, Connection close %v; want 503 and close", resp.StatusCode, resp.Close)
	}
}
