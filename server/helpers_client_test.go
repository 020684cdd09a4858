//go:build cgo

// These tests drive the real llama.cpp engine (cgo).

package server_test

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/sottolabs/sotto/crypto"
	"github.com/sottolabs/sotto/crypto/device"
	"github.com/sottolabs/sotto/crypto/keyconfig"
	"github.com/sottolabs/sotto/crypto/wire"
	"github.com/sottolabs/sotto/server/problem"
)

// client is what a phone does: it holds a verified key configuration
// (pinned to the store's signing key), seals requests to the current key of
// its suite, signs them with its device key, and opens the sealed stream.
type client struct {
	h     *harness
	dev   *testDevice
	suite crypto.Suite
	http  *http.Client

	mu  sync.Mutex
	doc *keyconfig.Document
}

func (h *harness) client(dev *testDevice, suite crypto.Suite) *client {
	h.t.Helper()
	c := &client{h: h, dev: dev, suite: suite, http: h.ts.Client()}
	if err := c.fetchConfig(); err != nil {
		h.t.Fatal(err)
	}
	return c
}

// fetchConfig reads GET /api/pubkey and accepts it under the client rules.
func (c *client) fetchConfig() error {
	resp, err := c.http.Get(c.h.url("/api/pubkey"))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /api/pubkey: %d", resp.StatusCode)
	}
	return c.accept(body)
}

func (c *client) accept(doc []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, err := keyconfig.Accept(c.doc, doc, c.h.store.SigningPublicKey(), c.h.now())
	if err != nil {
		return err
	}
	c.doc = d
	return nil
}

// follow422 refreshes the key configuration from a 422 #key problem: the
// key_config member, or GET /api/pubkey when that is not newer than the
// document held (protocol section 2).
func (c *client) follow422(r *result) error {
	c.mu.Lock()
	held := c.doc
	c.mu.Unlock()
	if err := c.accept(r.prob.KeyConfig); err == nil {
		c.mu.Lock()
		newer := c.doc.IssuedAt.After(held.IssuedAt)
		c.mu.Unlock()
		if newer {
			return nil
		}
	}
	return c.fetchConfig()
}

// currentKey is the key a client seals to: the current key of its suite
// with the latest not_before.
func (c *client) currentKey() keyconfig.Key {
	c.mu.Lock()
	defer c.mu.Unlock()
	var best keyconfig.Key
	found := false
	for _, k := range c.doc.Keys {
		if k.Suite == c.suite && k.State == keyconfig.StateCurrent && (!found || k.NotBefore.After(best.NotBefore)) {
			best, found = k, true
		}
	}
	if !found {
		c.h.t.Fatalf("no current key for suite %v", c.suite)
	}
	return best
}

func (c *client) keyOf(suite crypto.Suite) keyconfig.Key {
	saved := c.suite
	c.suite = suite
	defer func() { c.suite = saved }()
	return c.currentKey()
}

// sealed is a request ready to send: body, headers, and the sender context
// that opens its response.
type sealed struct {
	body   []byte
	sc     *crypto.SenderContext
	header http.Header
}

// seal seals inner to the current key at the harness's now and signs it.
func (c *client) seal(inner []byte) *sealed {
	k := c.currentKey()
	return c.sealTo(inner, k.KeyID, c.suite, k.PublicKey, c.h.now())
}

// sealTo seals inner with explicit header fields (keyID and suite may
// disagree with pk, for the #key tests).
func (c *client) sealTo(inner []byte, keyID uint8, suite crypto.Suite, pk []byte, ts time.Time) *sealed {
	c.h.t.Helper()
	var rid [16]byte
	if _, err := rand.Read(rid[:]); err != nil {
		c.h.t.Fatal(err)
	}
	body, sc, err := crypto.Seal(suite, keyID, pk, inner, ts.UnixMilli(), rid, nil)
	if err != nil {
		c.h.t.Fatalf("seal: %v", err)
	}
	s := &sealed{body: body, sc: sc, header: http.Header{}}
	s.header.Set("Content-Type", wire.MediaTypeRequest)
	s.header.Set("Sotto-Device", c.dev.header)
	c.h.secret(c.dev.header)
	s.sign(c.h, c.dev)
	return s
}

// sign (re)signs the body with d, for tests that change the body.
func (s *sealed) sign(h *harness, d *testDevice) {
	h.t.Helper()
	sig, err := device.Sign(d.priv, s.body)
	if err != nil {
		h.t.Fatal(err)
	}
	s.header.Set("Sotto-Signature", sig)
	h.secret(sig)
}

// result is the outcome of one POST /api/chat.
type result struct {
	status    int
	header    http.Header
	body      []byte // problem document (non-200)
	prob      problemDoc
	text      string // decrypted reply (200)
	deltas    int    // non-final chunks
	final     crypto.Final
	streamErr error
}

type problemDoc struct {
	Type      string          `json:"type"`
	Title     string          `json:"title"`
	Status    int             `json:"status"`
	Code      string          `json:"code"`
	Challenge string          `json:"challenge"`
	KeyConfig json.RawMessage `json:"key_config"`
}

// send posts s and reads the whole answer.
func (c *client) send(s *sealed) *result {
	c.h.t.Helper()
	resp := c.h.post(c.http, bytes.NewReader(s.body), int64(len(s.body)), s.header)
	defer resp.Body.Close()
	return c.h.read(resp, s.sc)
}

func (h *harness) post(hc *http.Client, body io.Reader, length int64, header http.Header) *http.Response {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.url("/api/chat"), body)
	if err != nil {
		h.t.Fatal(err)
	}
	req.ContentLength = length
	req.Header = header.Clone()
	resp, err := hc.Do(req)
	if err != nil {
		h.t.Fatalf("POST /api/chat: %v", err)
	}
	return resp
}

// read opens a 200 stream with crypto.ReadStream, or parses a problem.
func (h *harness) read(resp *http.Response, sc *crypto.SenderContext) *result {
	h.t.Helper()
	r := &result{status: resp.StatusCode, header: resp.Header}
	if resp.StatusCode != http.StatusOK {
		var err error
		if r.body, err = io.ReadAll(resp.Body); err != nil {
			h.t.Fatal(err)
		}
		if err := json.Unmarshal(r.body, &r.prob); err != nil {
			h.t.Errorf("status %d: body is not a problem document: %v", resp.StatusCode, err)
		}
		return r
	}
	var text []byte
	r.streamErr = crypto.ReadStream(sc, resp.Body, func(ch crypto.Chunk) error {
		if ch.Final != nil {
			r.final = *ch.Final
			return nil
		}
		text = append(text, ch.Delta...)
		r.deltas++
		return nil
	})
	r.text = string(text)
	if len(text) >= 8 {
		h.secret(r.text)
	}
	return r
}

// chatJSON is an inner request: one user message, greedy.
func chatJSON(prompt string, maxTokens int) []byte {
	b, err := json.Marshal(map[string]any{
		"messages":    []map[string]string{{"role": "user", "content": prompt}},
		"max_tokens":  maxTokens,
		"temperature": 0,
	})
	if err != nil {
		panic(err)
	}
	return b
}

// chat sends one greedy chat and returns its result.
func (c *client) chat(prompt string, maxTokens int) *result {
	c.h.t.Helper()
	return c.send(c.seal(chatJSON(prompt, maxTokens)))
}

// wantReply checks a completed stream against the engine's own greedy
// output for the same prompt and max_tokens.
func (h *harness) wantReply(t testing.TB, r *result, prompt string, maxTokens int) {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d, problem %s (%s)", r.status, r.prob.Type, r.prob.Code)
	}
	if r.streamErr != nil {
		t.Fatalf("stream: %v", r.streamErr)
	}
	want := h.expected(prompt, maxTokens)
	if r.text != want.text {
		t.Errorf("reply %q, want the engine's %q", r.text, want.text)
	}
	wantFinal := crypto.Final{Reason: crypto.FinishStop, PromptTokens: want.res.PromptTokens, CompletionTokens: want.res.CompletionTokens}
	if want.res.CompletionTokens == maxTokens {
		wantFinal.Reason = crypto.FinishLength
	}
	if r.final != wantFinal {
		t.Errorf("final %+v, want %+v", r.final, wantFinal)
	}
}

// wantProblem checks a refusal: status, problem type, document status,
// the problem headers, and that the body echoes nothing of the request.
func wantProblem(t testing.TB, r *result, status int, name string) {
	t.Helper()
	if r.status != status || r.prob.Type != problem.TypeBase+name || r.prob.Status != status {
		t.Fatalf("got %d %s, want %d #%s; body %s", r.status, r.prob.Type, status, name, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != problem.ContentType {
		t.Errorf("Content-Type %q", ct)
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q", cc)
	}
	if bytes.Contains(r.body, []byte(canary)) {
		t.Errorf("problem body contains the request's canary")
	}
}

// prompts are the test prompts: short stories with the canary inside.
func prompt(i int) string {
	starts := []string{"Once upon a time", "Lily saw a big dog", "The sun was hot", "Tom had a red ball", "One day a bird"}
	return fmt.Sprintf("%s %s", starts[i%len(starts)], canary)
}
