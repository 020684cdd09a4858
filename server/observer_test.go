//go:build cgo && linux

// These tests drive the real llama.cpp engine (cgo).

package server_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sottolabs/sotto/crypto"
)

// The observer (issue 19, docs/protocol.md section 7): what a network
// observer between client and server sees of one chat, the time and size
// of every read of the server's bytes on a raw socket, and of every TLS
// record in them, taken by a TCP relay in front of a real TLS listener.

// sighting is one thing the observer saw: when (since the request left)
// and how many bytes.
type sighting struct {
	at time.Duration
	n  int
}

// trace is one connection as observed: the reads of the server's bytes
// and the TLS records they form (application data and all).
type trace struct {
	reads, records []sighting
}

// requestBytes tells the request from the TLS handshake (see relay).
const requestBytes = 300

// observer is a TCP relay that records each connection's trace.
type observer struct {
	ln     net.Listener
	target string
	done   chan trace
}

func newObserver(t *testing.T, target string) *observer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := stampListener(ln); err != nil {
		t.Fatal(err)
	}
	o := &observer{ln: ln, target: target, done: make(chan trace, 1)}
	t.Cleanup(func() { ln.Close() })
	go o.serve()
	return o
}

func (o *observer) serve() {
	for {
		c, err := o.ln.Accept()
		if err != nil {
			return
		}
		go o.relay(c)
	}
}

// relay copies both ways. The client-to-server copy marks when the
// request began to leave: its first read of at least requestBytes after
// the server has spoken (the TLS handshake's client messages are shorter;
// a request is at least 336 bytes of body), and then the time of each read
// until the reply begins, each at the kernel's receive time (wireConn).
// The server-to-client copy records, with times
// counted from the request's last read: the request's size (its bucket)
// is visible by design (docs/protocol.md section 7), and so is the time it
// takes to upload; what is measured is what the reply adds.
func (o *observer) relay(c net.Conn) {
	defer c.Close()
	s, err := net.Dial("tcp", o.target)
	if err != nil {
		return
	}
	defer s.Close()
	cw, err1 := newWireConn(c)
	sw, err2 := newWireConn(s)
	if err1 != nil || err2 != nil {
		panic(fmt.Sprintf("observer: %v %v", err1, err2))
	}
	var mu sync.Mutex
	var sent, last, ref time.Time // request began, its latest read, the reference
	var spoke bool
	go func() {
		buf := make([]byte, 64<<10)
		for {
			n, at, err := cw.read(buf)
			if n > 0 {
				mu.Lock()
				if spoke && at.IsZero() {
					panic("observer: a request's bytes without their receive time")
				}
				if spoke && sent.IsZero() && n >= requestBytes {
					sent = at
				}
				if !sent.IsZero() && ref.IsZero() {
					last = at
				}
				mu.Unlock()
				_, _ = s.Write(buf[:n])
			}
			if err != nil || n == 0 {
				_ = s.(*net.TCPConn).CloseWrite()
				return
			}
		}
	}()
	var tr trace
	var rec []byte // bytes of the TLS record stream not yet framed
	buf := make([]byte, 64<<10)
	for {
		n, now, err := sw.read(buf)
		if n > 0 {
			mu.Lock()
			spoke = true
			after := !sent.IsZero()
			if after && now.IsZero() {
				panic("observer: a reply's bytes without their receive time")
			}
			if after && ref.IsZero() {
				ref = last
			}
			at := now.Sub(ref)
			mu.Unlock()
			// Before the request: the handshake, the same for everyone.
			if after {
				tr.reads = append(tr.reads, sighting{at, n})
			}
			rec = append(rec, buf[:n]...)
			for len(rec) >= 5 && len(rec) >= 5+int(binary.BigEndian.Uint16(rec[3:5])) {
				l := 5 + int(binary.BigEndian.Uint16(rec[3:5]))
				if after {
					tr.records = append(tr.records, sighting{at, l})
				}
				rec = rec[l:]
			}
			if _, werr := c.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil || n == 0 {
			break
		}
	}
	o.done <- tr
}

// observed sends one sealed chat through the observer on a connection of
// its own and returns what the observer saw (only sightings after the
// request left: the TLS handshake is the same for everyone) and the reply.
func (c *client) observed(o *observer, inner []byte) (trace, shapedReply) {
	c.h.t.Helper()
	s := c.seal(inner)
	tr := c.http.Transport.(*http.Transport).Clone()
	tr.DisableKeepAlives = true
	url := "https://" + o.ln.Addr().String() + "/api/chat"
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(s.body))
	req.Header = s.header.Clone()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		c.h.t.Fatalf("POST through the observer: %v", err)
	}
	sse, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	tr.CloseIdleConnections()
	if resp.StatusCode != http.StatusOK || err != nil {
		c.h.t.Fatalf("status %d, %v", resp.StatusCode, err)
	}
	text, f, err := crypto.OpenShapedStream(s.sc, sse)
	if err != nil {
		c.h.t.Fatalf("stream: %v", err)
	}
	if len(text) >= 8 {
		c.h.secret(string(text))
	}
	seen := <-o.done
	return seen, shapedReply{text: string(text), final: f, shaped: bytes.HasPrefix(sse, []byte("event: "+crypto.EventNonceShaped)),
		frames: bytes.Count(sse, []byte("data: ")) - 1}
}

// observedJSON is an inner request: greedy, max_tokens, stop strings,
// and the shape member.
func observedJSON(prompt string, maxTokens int, stop []string) []byte {
	m := map[string]any{
		"messages":    []map[string]string{{"role": "user", "content": prompt}},
		"max_tokens":  maxTokens,
		"temperature": 0,
		"shape":       crypto.ShapeConstant,
	}
	if stop != nil {
		m["stop"] = stop
	}
	b, _ := json.Marshal(m)
	return b
}

// words returns a prompt of n words of the model's kind of story.
func words(i, n int) string {
	w := strings.Fields("the little girl saw a big red ball in the park and she was very happy to play with her friend")
	var b strings.Builder
	b.WriteString(prompt(i))
	for k := range n {
		b.WriteString(" ")
		b.WriteString(w[(i+k)%len(w)])
	}
	return b.String()
}
