//go:build cgo

package server_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/sottolabs/sotto/crypto"
	"github.com/sottolabs/sotto/server/problem"
)

// slowPost sends s over a raw TCP connection: the headers and all of the
// body but its last byte at once, then, after before returns, the last
// byte. It returns the status and the problem name ("" for 200).
func slowPost(t *testing.T, h *harness, s *sealed, before func()) (int, string) {
	conn, err := sendAllButLast(h, s)
	if err != nil {
		t.Error(err)
		return 0, ""
	}
	defer conn.Close()
	before()
	if _, err := conn.Write(s.body[len(s.body)-1:]); err != nil {
		t.Error(err)
		return 0, ""
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Error(err)
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK {
		return resp.StatusCode, ""
	}
	return resp.StatusCode, problemName(b)
}

// sendAllButLast dials the harness and writes s's request line, headers
// and all of its body but the last byte.
func sendAllButLast(h *harness, s *sealed) (net.Conn, error) {
	conn, err := net.Dial("tcp", h.ts.Listener.Addr().String())
	if err != nil {
		return nil, err
	}
	var head bytes.Buffer
	fmt.Fprintf(&head, "POST /api/chat HTTP/1.1\r\nHost: sotto\r\nContent-Length: %d\r\n", len(s.body))
	for k, vs := range s.header {
		fmt.Fprintf(&head, "%s: %s\r\n", k, vs[0])
	}
	head.WriteString("\r\n")
	head.Write(s.body[:len(s.body)-1])
	if _, err := conn.Write(head.Bytes()); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// TestSlowBodyPastWindowRefused: a request whose body completes after
// ts + REQUEST_TTL_SECONDS is refused with 400 #date, although its
// headers arrived inside the window.
func TestSlowBodyPastWindowRefused(t *testing.T) {
	clk := newClock(time.Now())
	reading := make(chan struct{})
	h := newHarness(t, config{clock: clk, wrap: func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.Body = &signalBody{ReadCloser: r.Body, first: reading}
			next.ServeHTTP(w, r)
		})
	}})
	c := h.client(h.devices[0], crypto.SuiteX25519)
	s := c.seal(chatJSON(prompt(0), 4))
	status, name := slowPost(t, h, s, func() {
		<-reading // the handler reads the body: the headers arrived in the window
		clk.Advance(time.Minute + time.Second)
	})
	if status != http.StatusBadRequest || name != problem.Date {
		t.Fatalf("got %d %q, want 400 %q", status, name, problem.Date)
	}
}

// signalBody closes first when the handler starts reading the body.
type signalBody struct {
	io.ReadCloser
	first chan struct{}
	once  sync.Once
}

func (b *signalBody) Read(p []byte) (int, error) {
	b.once.Do(func() { close(b.first) })
	return b.ReadCloser.Read(p)
}

// TestReplayRaceAtWindowEdge: copies of one captured request whose bodies
// complete around the end of the window (ts + TTL) yield at most one
// stream; every other copy is refused as a replay or as out of the window.
func TestReplayRaceAtWindowEdge(t *testing.T) {
	const ttl, copies = 2 * time.Second, 8
	h := newHarness(t, config{requestTTL: ttl, devBurst: 100, streamsPerDevice: copies})
	c := h.client(h.devices[0], crypto.SuiteX25519)
	k := c.currentKey()
	ts := time.Now().Add(-ttl + 500*time.Millisecond)
	s := c.sealTo(chatJSON(prompt(1), 4), k.KeyID, crypto.SuiteX25519, k.PublicKey, ts)
	edge := ts.Add(ttl)

	var mu sync.Mutex
	statuses := map[string]int{}
	var wg sync.WaitGroup
	for i := range copies {
		wg.Go(func() {
			at := edge.Add(time.Duration(i-copies/2) * 40 * time.Millisecond)
			_, outcome := slowPost(t, h, s, func() { time.Sleep(time.Until(at)) })
			if outcome == "" {
				outcome = "200"
			}
			mu.Lock()
			statuses[outcome]++
			mu.Unlock()
		})
	}
	wg.Wait()
	t.Logf("outcomes: %v", statuses)
	if statuses["200"] > 1 || statuses["200"]+statuses[problem.Replay]+statuses[problem.Date] != copies {
		t.Fatalf("outcomes %v: want at most one 200, the rest #replay or #date", statuses)
	}
}

// problemName returns the fragment of a problem document's type.
func problemName(b []byte) string {
	i := bytes.Index(b, []byte(`"type":"`+problem.TypeBase))
	if i < 0 {
		return "?"
	}
	rest := b[i+len(`"type":"`+problem.TypeBase):]
	return string(rest[:bytes.IndexByte(rest, '"')])
}
