//go:build cgo

// These tests drive the real llama.cpp engine (cgo).

package server_test

import (
	"bytes"
	"encoding/binary"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/sottolabs/sotto/crypto"
	"github.com/sottolabs/sotto/crypto/keyconfig"
	"github.com/sottolabs/sotto/server/problem"
)

// TestProblems covers the rows of protocol section 6 that one request
// provokes, each with its exact status, type and members. Every request
// carries the canary; wantProblem checks no body echoes it.
func TestProblems(t *testing.T) {
	h := newHarness(t, config{})
	c := h.client(h.devices[0], crypto.SuiteX25519)
	inner := chatJSON(prompt(0), 4)
	maxBody := crypto.MaxBodySize(crypto.SuiteXWing)

	unusedKeyID := func() uint8 {
		used := map[uint8]bool{}
		for _, k := range h.store.Keys() {
			used[k.ID()] = true
		}
		for id := 0; id < 256; id++ {
			if !used[uint8(id)] {
				return uint8(id)
			}
		}
		t.Fatal("no free key id")
		return 0
	}()

	tests := []struct {
		name   string
		build  func() *sealed
		status int
		want   string
		check  func(t *testing.T, r *result)
	}{
		{"too large by Content-Length", func() *sealed {
			s := c.seal(inner)
			s.body = make([]byte, maxBody+1)
			return s
		}, 413, problem.TooLarge, nil},
		{"wrong media type", func() *sealed {
			s := c.seal(inner)
			s.header.Set("Content-Type", "application/json")
			return s
		}, 415, problem.MediaType, nil},
		{"missing media type", func() *sealed {
			s := c.seal(inner)
			s.header.Del("Content-Type")
			return s
		}, 415, problem.MediaType, nil},
		{"unknown key_id", func() *sealed {
			k := c.currentKey()
			return c.sealTo(inner, unusedKeyID, crypto.SuiteX25519, k.PublicKey, h.now())
		}, 422, problem.Key, wantKeyConfig(h)},
		{"key_id of another suite", func() *sealed {
			// Sealed to the X-Wing key but naming the X25519 key's id.
			return c.sealTo(inner, c.keyOf(crypto.SuiteX25519).KeyID, crypto.SuiteXWing, c.keyOf(crypto.SuiteXWing).PublicKey, h.now())
		}, 422, problem.Key, wantKeyConfig(h)},
		{"stale ts", func() *sealed {
			k := c.currentKey()
			return c.sealTo(inner, k.KeyID, crypto.SuiteX25519, k.PublicKey, h.now().Add(-61*time.Second))
		}, 400, problem.Date, wantDateHeader},
		{"future ts", func() *sealed {
			k := c.currentKey()
			return c.sealTo(inner, k.KeyID, crypto.SuiteX25519, k.PublicKey, h.now().Add(61*time.Second))
		}, 400, problem.Date, wantDateHeader},
		{"missing device header", func() *sealed {
			s := c.seal(inner)
			s.header.Del("Sotto-Device")
			return s
		}, 401, problem.Device, nil},
		{"missing signature", func() *sealed {
			s := c.seal(inner)
			s.header.Del("Sotto-Signature")
			return s
		}, 401, problem.Device, nil},
		{"signature over another body", func() *sealed {
			s, other := c.seal(inner), c.seal(inner)
			s.header.Set("Sotto-Signature", other.header.Get("Sotto-Signature"))
			return s
		}, 401, problem.Device, nil},
		{"untrusted device", func() *sealed {
			s := c.seal(inner)
			s.header.Set("Sotto-Device", h.untrusted.header)
			s.sign(h, h.untrusted)
			return s
		}, 401, problem.Device, nil},
		{"malformed device header", func() *sealed {
			s := c.seal(inner)
			s.header.Set("Sotto-Device", "ed25519:"+canary)
			return s
		}, 401, problem.Device, nil},
	}
	for _, code := range []struct{ name, inner, code string }{
		{"unknown member", `{"messages":[{"role":"user","content":"` + canary + `"}],"` + canary + `":1}`, crypto.CodeMember},
		{"unknown role", `{"messages":[{"role":"wizard","content":"` + canary + `"}]}`, crypto.CodeRole},
		{"no messages", `{"messages":[],"stop":["` + canary + `"]}`, crypto.CodeMessages},
		{"max_tokens over the cap", `{"messages":[{"role":"user","content":"` + canary + `"}],"max_tokens":100000}`, crypto.CodeMaxTokens},
		{"not JSON", canary + `{`, crypto.CodeJSON},
	} {
		tests = append(tests, struct {
			name   string
			build  func() *sealed
			status int
			want   string
			check  func(t *testing.T, r *result)
		}{"request " + code.name, func() *sealed { return c.seal([]byte(code.inner)) }, 400, problem.Request,
			func(t *testing.T, r *result) {
				if r.prob.Code != code.code {
					t.Errorf("code %q, want %q", r.prob.Code, code.code)
				}
			}})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := c.send(tc.build())
			wantProblem(t, r, tc.status, tc.want)
			if tc.check != nil {
				tc.check(t, r)
			}
		})
	}

	// The server still serves this client normally afterwards.
	h.wantReply(t, c.chat(prompt(0), 4), prompt(0), 4)
}

func wantKeyConfig(h *harness) func(t *testing.T, r *result) {
	return func(t *testing.T, r *result) {
		if _, err := keyconfig.Accept(nil, r.prob.KeyConfig, h.store.SigningPublicKey(), h.now()); err != nil {
			t.Errorf("key_config does not verify: %v", err)
		}
	}
}

func wantDateHeader(t *testing.T, r *result) {
	d, err := http.ParseTime(r.header.Get("Date"))
	if err != nil {
		t.Fatalf("Date header %q: %v", r.header.Get("Date"), err)
	}
	if skew := time.Since(d); skew < -2*time.Second || skew > 2*time.Second {
		t.Errorf("Date header %v is not the server's time", d)
	}
}

// TestTooLargeChunked: a body without Content-Length is cut at the limit.
func TestTooLargeChunked(t *testing.T) {
	seen := make(chan []string, 1)
	wrap := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/api/chat" {
				seen <- r.TransferEncoding
			}
			next.ServeHTTP(w, r)
		})
	}
	h := newHarness(t, config{wrap: wrap})
	c := h.client(h.devices[0], crypto.SuiteX25519)
	s := c.seal(chatJSON(prompt(0), 4))
	big := make([]byte, crypto.MaxBodySize(crypto.SuiteXWing)+1)
	copy(big, s.body)
	// io.MultiReader hides the length, so the transport sends it chunked.
	resp := h.post(c.http, io.MultiReader(bytes.NewReader(big)), -1, s.header)
	defer resp.Body.Close()
	if te := <-seen; len(te) != 1 || te[0] != "chunked" {
		t.Fatalf("request was not chunked: %v", te)
	}
	wantProblem(t, h.read(resp, nil), 413, problem.TooLarge)
}

// TestEnvelopeOneAnswer: every malformed or undecryptable envelope gets
// byte-identical answers, whether it fails the structure check (step 3) or
// decryption (step 9).
func TestEnvelopeOneAnswer(t *testing.T) {
	h := newHarness(t, config{})
	c := h.client(h.devices[0], crypto.SuiteX25519)
	inner := chatJSON(prompt(0), 4)
	tests := []struct {
		name   string
		mutate func(b []byte) []byte
	}{
		{"version 2", func(b []byte) []byte { b[0] = 2; return b }},
		{"unknown kem", func(b []byte) []byte { binary.BigEndian.PutUint16(b[2:], 0x0099); return b }},
		{"unknown kdf", func(b []byte) []byte { binary.BigEndian.PutUint16(b[4:], 0x0002); return b }},
		{"unknown aead", func(b []byte) []byte { binary.BigEndian.PutUint16(b[6:], 0x0001); return b }},
		{"short body", func(b []byte) []byte { return b[:32+32+15] }},
		{"header only", func(b []byte) []byte { return b[:crypto.HeaderSize] }},
		{"padding not a power of two", func(b []byte) []byte { return b[:len(b)-1] }},
		{"padding grown", func(b []byte) []byte { return append(b, 0) }},
		{"flipped ciphertext bit", func(b []byte) []byte { b[len(b)-20] ^= 1; return b }},
		{"flipped tag bit", func(b []byte) []byte { b[len(b)-1] ^= 0x80; return b }},
		{"flipped enc bit", func(b []byte) []byte { b[crypto.HeaderSize] ^= 1; return b }},
		{"flipped ts bit (bound by info)", func(b []byte) []byte { b[23] ^= 1; return b }},
		{"flipped rid bit (bound by info)", func(b []byte) []byte { b[31] ^= 1; return b }},
	}
	var first []byte
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := c.seal(inner)
			s.body = tc.mutate(s.body)
			s.sign(h, c.dev) // a valid signature: only the envelope is wrong
			r := c.send(s)
			wantProblem(t, r, 400, problem.Envelope)
			if first == nil {
				first = r.body
			} else if !bytes.Equal(r.body, first) {
				t.Errorf("answer %s differs from %s", r.body, first)
			}
			if n := r.header.Get("Content-Length"); n != strconv.Itoa(len(first)) {
				t.Errorf("Content-Length %s", n)
			}
		})
	}
}

// TestReplay: a byte-identical request is served once, then refused.
func TestReplay(t *testing.T) {
	h := newHarness(t, config{})
	c := h.client(h.devices[0], crypto.SuiteX25519)
	s := c.seal(chatJSON(prompt(0), 4))
	h.wantReply(t, c.send(s), prompt(0), 4)
	wantProblem(t, c.send(s), 400, problem.Replay)
	// A request refused before decryption leaves its rid free: the
	// genuine request still goes through.
	s2 := c.seal(chatJSON(prompt(1), 4))
	forged := &sealed{body: bytes.Clone(s2.body), header: s2.header.Clone()}
	forged.body[len(forged.body)-1] ^= 1
	forged.sign(h, c.dev)
	wantProblem(t, c.send(forged), 400, problem.Envelope)
	h.wantReply(t, c.send(s2), prompt(1), 4)
}
