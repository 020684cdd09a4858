//go:build cgo

// These tests drive the real llama.cpp engine (cgo).

package server_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sottolabs/sotto/crypto"
	"github.com/sottolabs/sotto/crypto/keyconfig"
	"github.com/sottolabs/sotto/server/problem"
)

// TestChatGreedyMatchesEngine: the decrypted stream is exactly what the
// engine generates for the same messages, for both suites, with exact
// usage and finish reason, and the stream carries the SSE headers.
func TestChatGreedyMatchesEngine(t *testing.T) {
	h := newHarness(t, config{})
	tests := []struct {
		name      string
		suite     crypto.Suite
		prompt    string
		maxTokens int
	}{
		{"x25519 length", crypto.SuiteX25519, prompt(0), 24},
		{"x25519 one token", crypto.SuiteX25519, prompt(1), 1},
		{"xwing length", crypto.SuiteXWing, prompt(2), 24},
		{"xwing long", crypto.SuiteXWing, prompt(3), 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := h.client(h.devices[0], tc.suite)
			r := c.chat(tc.prompt, tc.maxTokens)
			h.wantReply(t, r, tc.prompt, tc.maxTokens)
			for k, want := range map[string]string{
				"Content-Type":      "text/event-stream",
				"Cache-Control":     "no-store",
				"X-Accel-Buffering": "no",
			} {
				if got := r.header.Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
		})
	}
	// The engine's greedy text is not trivially empty: the comparison
	// above means something.
	if e := h.expected(prompt(0), 24); len(e.text) < 20 || e.res.CompletionTokens != 24 {
		t.Errorf("greedy reference too short: %q %+v", e.text, e.res)
	}
}

// TestChatCoalesced: with a coalescing window (protocol section 7, the
// token-timing control of docs/threat-model.md) the stream carries exactly
// the same text and final chunk, in chunks that leave only at the window's
// ticks: the i-th chunk before the last cannot arrive earlier than i
// windows after the request was sent (each tick sends at most one chunk,
// and the ticker starts after the request arrives). With a window longer
// than the generation the whole reply is one chunk, written when
// generation ends. Neither bound depends on the machine's speed.
func TestChatCoalesced(t *testing.T) {
	const window = 20 * time.Millisecond
	h := newHarness(t, config{coalesce: window})
	c := h.client(h.devices[0], crypto.SuiteX25519)
	for i := range 3 {
		r, sent, arrivals := sendTimed(c, prompt(i), 128)
		h.wantReply(t, r, prompt(i), 128)
		if len(arrivals) != r.deltas || r.deltas == 0 {
			t.Fatalf("%d arrival times for %d chunks", len(arrivals), r.deltas)
		}
		for k, at := range arrivals[:len(arrivals)-1] {
			if early := time.Duration(k+1)*window - at.Sub(sent); early > 0 {
				t.Fatalf("chunk %d of %d arrived %v after sending, %v before tick %d of a %v window",
					k+1, r.deltas, at.Sub(sent), early, k+1, window)
			}
		}
	}
	slow := newHarness(t, config{coalesce: time.Hour})
	c = slow.client(slow.devices[0], crypto.SuiteX25519)
	r, _, _ := sendTimed(c, prompt(0), 128)
	slow.wantReply(t, r, prompt(0), 128)
	if r.deltas != 1 {
		t.Fatalf("a reply generated within one window came in %d chunks, want 1", r.deltas)
	}
}

// sendTimed sends one greedy chat and reads its stream, noting when each
// text chunk arrived.
func sendTimed(c *client, prompt string, maxTokens int) (r *result, sent time.Time, arrivals []time.Time) {
	c.h.t.Helper()
	s := c.seal(chatJSON(prompt, maxTokens))
	sent = time.Now()
	resp := c.h.post(c.http, bytes.NewReader(s.body), int64(len(s.body)), s.header)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return c.h.read(resp, s.sc), sent, nil
	}
	r = &result{status: resp.StatusCode, header: resp.Header}
	var text []byte
	r.streamErr = crypto.ReadStream(s.sc, resp.Body, func(ch crypto.Chunk) error {
		if ch.Final != nil {
			r.final = *ch.Final
			return nil
		}
		arrivals = append(arrivals, time.Now())
		text = append(text, ch.Delta...)
		r.deltas++
		return nil
	})
	r.text = string(text)
	c.h.secret(r.text)
	return r, sent, arrivals
}

// TestChatBuffered: with streaming off (STREAMING_ENABLED=false) the
// reply arrives whole, in one chunk, with the same text and final chunk.
func TestChatBuffered(t *testing.T) {
	h := newHarness(t, config{buffered: true})
	c := h.client(h.devices[0], crypto.SuiteX25519)
	for i := range 2 {
		r := c.chat(prompt(i), 64)
		h.wantReply(t, r, prompt(i), 64)
		if r.deltas != 1 {
			t.Fatalf("buffered reply came in %d chunks, want 1", r.deltas)
		}
	}
}

// TestChatBufferedOverflow: a buffered reply larger than the locked
// pending buffer ends the stream with an error final chunk (slow_client),
// not a crash, after at most the text that fitted.
func TestChatBufferedOverflow(t *testing.T) {
	h := newHarness(t, config{buffered: true, streamBuffer: 32})
	c := h.client(h.devices[0], crypto.SuiteX25519)
	r := c.chat(prompt(0), 64)
	if r.status != 200 || r.streamErr != nil {
		t.Fatalf("status %d, stream error %v", r.status, r.streamErr)
	}
	if r.final.Reason != "error" || r.final.ErrorCode != "slow_client" || len(r.text) > 32 {
		t.Fatalf("final %+v after %d bytes of text, want error slow_client after at most 32", r.final, len(r.text))
	}
}

// TestChatMediaTypeParametersIgnored: parameters of Content-Type do not
// matter (protocol section 4, step 1).
func TestChatMediaTypeParametersIgnored(t *testing.T) {
	h := newHarness(t, config{})
	c := h.client(h.devices[0], crypto.SuiteX25519)
	s := c.seal(chatJSON(prompt(0), 8))
	s.header.Set("Content-Type", "application/sotto-request; charset=binary")
	h.wantReply(t, c.send(s), prompt(0), 8)
}

func TestPubkey(t *testing.T) {
	clk := newClock(time.Now())
	h := newHarness(t, config{clock: clk})
	resp, err := http.Get(h.url("/api/pubkey"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "public, max-age=300" {
		t.Errorf("Cache-Control %q", cc)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	doc, err := keyconfig.Accept(nil, body, h.store.SigningPublicKey(), clk.Now())
	if err != nil {
		t.Fatalf("document does not verify: %v", err)
	}
	// One current and one next key per suite, as keys.Init made them.
	count := map[crypto.Suite]map[keyconfig.State]int{}
	for _, k := range doc.Keys {
		if count[k.Suite] == nil {
			count[k.Suite] = map[keyconfig.State]int{}
		}
		count[k.Suite][k.State]++
	}
	for _, s := range []crypto.Suite{crypto.SuiteX25519, crypto.SuiteXWing} {
		if count[s][keyconfig.StateCurrent] != 1 || count[s][keyconfig.StateNext] != 1 {
			t.Errorf("suite %v: keys by state %v", s, count[s])
		}
	}
	// Served bytes are the store's signed document.
	want, err := h.store.Document(clk.Now())
	if err != nil || !bytes.Equal(body, want) {
		t.Errorf("served document differs from the store's (%v)", err)
	}
}

func TestHealth(t *testing.T) {
	h := newHarness(t, config{notReady: true})
	get := func(path string) (int, http.Header, []byte) {
		t.Helper()
		resp, err := http.Get(h.url(path))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, b
	}
	if code, _, body := get("/health/live"); code != http.StatusOK || string(body) != `{"status":"live"}` {
		t.Errorf("live before ready: %d %s", code, body)
	}
	for _, path := range []string{"/health/ready", "/health"} {
		code, hdr, body := get(path)
		var p problemDoc
		_ = json.Unmarshal(body, &p)
		if code != http.StatusServiceUnavailable || p.Type != problem.TypeBase+problem.Overloaded || hdr.Get("Retry-After") == "" {
			t.Errorf("%s before ready: %d %s", path, code, body)
		}
	}
	h.srv.SetReady(true)
	for _, path := range []string{"/health/ready", "/health"} {
		if code, hdr, body := get(path); code != http.StatusOK || string(body) != `{"status":"ready"}` || hdr.Get("Cache-Control") != "no-store" {
			t.Errorf("%s when ready: %d %s", path, code, body)
		}
	}
	if code, _, _ := get("/health/live"); code != http.StatusOK {
		t.Errorf("live when ready: %d", code)
	}
}

func TestUnknownRouteIsProblem(t *testing.T) {
	h := newHarness(t, config{})
	tests := []struct {
		method, path string
		status       int
	}{
		{http.MethodGet, "/nope", http.StatusNotFound},
		{http.MethodPost, "/api/chat/" + canary, http.StatusNotFound},
		{http.MethodGet, "/api/chat", http.StatusMethodNotAllowed},
	}
	for _, tc := range tests {
		req, _ := http.NewRequest(tc.method, h.url(tc.path), nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var p problemDoc
		if err := json.Unmarshal(body, &p); err != nil {
			t.Errorf("%s %s: not a problem: %s", tc.method, tc.path, body)
		}
		if resp.StatusCode != tc.status || p.Status != tc.status || p.Type != "about:blank" || resp.Header.Get("Content-Type") != problem.ContentType {
			t.Errorf("%s %s: %d %s", tc.method, tc.path, resp.StatusCode, body)
		}
		if bytes.Contains(body, []byte(canary)) {
			t.Errorf("%s %s: body echoes the path", tc.method, tc.path)
		}
	}
}

// TestChunkPadding: every sealed chunk's plaintext is padded to the pad
// quantum (protocol section 7), so its size reveals only its bucket; the
// whole stream held in memory opens to the engine's text.
func TestChunkPadding(t *testing.T) {
	h := newHarness(t, config{})
	c := h.client(h.devices[0], crypto.SuiteX25519)
	s := c.seal(chatJSON(prompt(0), 40))
	resp := h.post(c.http, bytes.NewReader(s.body), int64(len(s.body)), s.header)
	defer resp.Body.Close()
	sse, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %v", resp.StatusCode, err)
	}
	text, final, err := crypto.OpenStream(s.sc, sse)
	want := h.expected(prompt(0), 40)
	if err != nil || string(text) != want.text || final.CompletionTokens != 40 {
		t.Fatalf("stream: %q %+v %v, want %q", text, final, err, want.text)
	}
	chunks := 0
	for _, event := range strings.Split(strings.ReplaceAll(string(sse), "\r\n", "\n"), "\n\n") {
		if strings.Contains(event, "event: nonce") || !strings.Contains(event, "data: ") {
			continue
		}
		data := event[strings.Index(event, "data: ")+len("data: "):]
		ct, err := base64.RawURLEncoding.DecodeString(strings.TrimSpace(data))
		if err != nil {
			t.Fatalf("chunk %d: %v", chunks, err)
		}
		if pt := len(ct) - crypto.Nt; pt <= 0 || pt%crypto.DefaultPadQuantum != 0 {
			t.Errorf("chunk %d: %d plaintext bytes, not a multiple of %d", chunks, pt, crypto.DefaultPadQuantum)
		}
		chunks++
	}
	if chunks < 2 {
		t.Errorf("%d chunks: want deltas and a final chunk", chunks)
	}
}
