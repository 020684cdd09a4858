//go:build cgo

package server_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/sottolabs/sotto/crypto"
)

// TestPlaceFreedAtFinal: a request's place among the engine's slots and
// queue is given back when the engine is done, not when the handler ends.
// A shaped stream runs on to the end of its bucket after its final frame;
// a client that has read the final chunk and sends its next request (here
// on a server of one slot and no queue) must be served, not refused 503.
func TestPlaceFreedAtFinal(t *testing.T) {
	h := newHarness(t, config{slots: 1, shapeFrame: 100 * time.Millisecond})
	c := h.client(h.devices[0], crypto.SuiteX25519)
	s := c.seal(shapedJSON(prompt(0), 8))
	resp := h.post(c.http, bytes.NewReader(s.body), int64(len(s.body)), s.header)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("first request: %d", resp.StatusCode)
	}
	o := crypto.NewStreamOpener(s.sc)
	o.AcceptShaped()
	readUntilFinal(t, resp.Body, o)

	// The first stream still has padding frames to send (a bucket is at
	// least crypto.MinShapeFrames frames of 100 ms).
	h.wantReply(t, c.chat(prompt(1), 8), prompt(1), 8)

	rest, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	_ = o.Feed(rest)
	for {
		if _, err := o.Next(); err != nil {
			break
		}
	}
	if err := o.End(); err != nil {
		t.Fatalf("first stream after the second request: %v", err)
	}
}

// readUntilFinal feeds o from body until it yields the final chunk.
func readUntilFinal(t *testing.T, body io.Reader, o *crypto.StreamOpener) {
	t.Helper()
	buf := make([]byte, 4096)
	for {
		n, err := body.Read(buf)
		_ = o.Feed(buf[:n])
		for {
			ch, nerr := o.Next()
			if nerr != nil {
				break
			}
			if ch.Final != nil {
				return
			}
		}
		if err != nil {
			t.Fatalf("stream ended before its final chunk: %v", errors.Join(err))
		}
	}
}
