//go:build cgo

// These tests drive the real llama.cpp engine (cgo).

package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/sottolabs/sotto/crypto"
)

// shapedJSON is chatJSON asking for a shaped stream.
func shapedJSON(prompt string, maxTokens int) []byte {
	var m map[string]any
	_ = json.Unmarshal(chatJSON(prompt, maxTokens), &m)
	m["shape"] = crypto.ShapeConstant
	b, _ := json.Marshal(m)
	return b
}

// shapedReply is one shaped stream as read: the reply, and the length of
// every event after the nonce event.
type shapedReply struct {
	text   string
	final  crypto.Final
	events []int
	// finalFrame is the index of the frame carrying the final chunk.
	finalFrame int
	shaped     bool
	frames int // data events after the nonce event (observer tests)
}

// chatShaped sends a request asking for a shaped stream and reads it whole.
func (c *client) chatShaped(prompt string, maxTokens int) shapedReply {
	c.h.t.Helper()
	s := c.seal(shapedJSON(prompt, maxTokens))
	resp := c.h.post(c.http, bytes.NewReader(s.body), int64(len(s.body)), s.header)
	defer resp.Body.Close()
	sse, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || err != nil {
		c.h.t.Fatalf("status %d, %v", resp.StatusCode, err)
	}
	// Event by event, so the frame that carries the final chunk is known.
	o := crypto.NewStreamOpener(s.sc)
	o.AcceptShaped()
	var r shapedReply
	r.finalFrame = -1
	for i, ev := range bytes.SplitAfter(sse, []byte("\n\n")) {
		_ = o.Feed(ev)
		for {
			ch, err := o.Next()
			if err != nil {
				break
			}
			if ch.Final != nil {
				r.final, r.finalFrame = *ch.Final, i-1 // event 0 is the nonce
			}
			r.text += string(ch.Delta)
		}
		if i > 0 && len(ev) > 0 {
			r.events = append(r.events, len(ev))
		}
	}
	if err := o.End(); err != nil {
		c.h.t.Fatalf("shaped stream: %v", err)
	}
	r.shaped = o.Shaped()
	if len(r.text) >= 8 {
		c.h.secret(r.text)
	}
	return r
}

// wantShaped checks a shaped reply: the engine's greedy text and counts,
// every frame the same size, and a whole bucket of frames: the smallest
// that holds the final frame (16 unless the machine ran the generation
// past 16 frames; which bucket is timing, not the rule under test).
func (h *harness) wantShaped(t *testing.T, r shapedReply, prompt string, maxTokens int) {
	t.Helper()
	want := h.expected(prompt, maxTokens)
	if !r.shaped || r.text != want.text || r.final.CompletionTokens != want.res.CompletionTokens ||
		r.final.PromptTokens != want.res.PromptTokens {
		t.Fatalf("shaped %v reply %q %+v, want the engine's %q %+v", r.shaped, r.text, r.final, want.text, want.res)
	}
	if r.finalFrame < 0 || uint64(len(r.events)) != crypto.ShapeFrames(uint64(r.finalFrame)) {
		t.Fatalf("%d frames with the final in frame %d, want %d", len(r.events), r.finalFrame, crypto.ShapeFrames(uint64(max(r.finalFrame, 0))))
	}
	for i, n := range r.events {
		if n != r.events[0] || n != len("data: \n\n")+(crypto.FrameCiphertextSize*4+2)/3 {
			t.Fatalf("frame %d is %d bytes, frame 0 %d", i, n, r.events[0])
		}
	}
}

// TestChatShaped: with SOTTO_STREAM_SHAPE=constant a request that asks
// gets a shaped stream carrying exactly the engine's reply, 24 and 40
// tokens alike in frames of one size filling a whole bucket (16 frames
// on a machine not slowed by other work); a request that does not ask
// gets the unshaped stream, unchanged.
func TestChatShaped(t *testing.T) {
	h := newHarness(t, config{shapeFrame: 10 * time.Millisecond})
	c := h.client(h.devices[0], crypto.SuiteX25519)
	for _, n := range []int{24, 40} {
		h.wantShaped(t, c.chatShaped(prompt(0), n), prompt(0), n)
	}
	h.wantReply(t, c.chat(prompt(1), 24), prompt(1), 24)
}

// TestChatShapedBuffered: STREAMING_ENABLED=false with the shape holds the
// text until the generation ends and still fills the same bucket.
func TestChatShapedBuffered(t *testing.T) {
	h := newHarness(t, config{shapeFrame: 10 * time.Millisecond, buffered: true})
	c := h.client(h.devices[0], crypto.SuiteX25519)
	h.wantShaped(t, c.chatShaped(prompt(2), 40), prompt(2), 40)
}
