//go:build cgo

// These tests drive the real llama.cpp engine (cgo).

package server_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	sotto "github.com/sottolabs/sotto/client"
)

// TestSkewedClientLearnsServerTime: the Go client with an empty state
// and a clock minutes off the server's learns the server's time from
// GET /api/pubkey's Date (protocol section 2.1) and its first chat is
// served: exactly one POST, the engine's greedy reply (issue 14 point 1).
func TestSkewedClientLearnsServerTime(t *testing.T) {
	for _, skew := range []time.Duration{5 * time.Minute, -5 * time.Minute} {
		t.Run(skew.String(), func(t *testing.T) {
			var posts atomic.Int32
			clk := newClock(time.Now().Add(skew))
			h := newHarness(t, config{clock: clk, wrap: func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.Method == http.MethodPost {
						posts.Add(1)
					}
					next.ServeHTTP(w, r)
				})
			}})
			resp, err := h.ts.Client().Get(h.url("/api/pubkey"))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if d, err := http.ParseTime(resp.Header.Get("Date")); err != nil || !d.Equal(clk.Now()) {
				t.Fatalf("pubkey Date %q (%v), want the server clock %v", resp.Header.Get("Date"), err, clk.Now())
			}
			c, err := sotto.New(sotto.Config{BaseURL: h.ts.URL, SigningKey: h.store.SigningPublicKey(),
				DeviceKey: h.devices[0].priv, HTTPClient: h.ts.Client()})
			if err != nil {
				t.Fatal(err)
			}
			zero := 0.0
			var text []byte
			res, err := c.Chat(context.Background(), sotto.Request{
				Messages: []sotto.Message{{Role: sotto.RoleUser, Content: prompt(4)}}, MaxTokens: 6, Temperature: &zero,
			}, func(p []byte) error { text = append(text, p...); return nil })
			if err != nil {
				t.Fatalf("Chat: %v", err)
			}
			want := h.expected(prompt(4), 6)
			if string(text) != want.text || res.CompletionTokens != want.res.CompletionTokens {
				t.Errorf("reply %q (%+v), want %q", text, res, want.text)
			}
			if n := posts.Load(); n != 1 {
				t.Errorf("%d POST /api/chat, want 1 (no #date round trip)", n)
			}
			h.secret(string(text))
		})
	}
}
