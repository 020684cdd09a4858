package client

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sottolabs/sotto/client/clienttest"
	"github.com/sottolabs/sotto/crypto"
	"github.com/sottolabs/sotto/crypto/keyconfig"
	"github.com/sottolabs/sotto/server/problem"
)

// secretPrompt must never appear in an error.
const secretPrompt = "my secret prompt"

func newClient(t *testing.T, s *clienttest.Server, mod func(*Config)) (*Client, ed25519.PrivateKey) {
	t.Helper()
	_, dev, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{BaseURL: s.URL, SigningKey: s.SigningKey(), DeviceKey: dev}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c, dev
}

func userRequest() Request {
	return Request{Messages: []Message{{Role: RoleUser, Content: secretPrompt}}}
}

// chat runs one Chat and returns the deltas seen.
func chat(t *testing.T, c *Client, req Request) ([]string, Result, error) {
	t.Helper()
	var deltas []string
	res, err := c.Chat(context.Background(), req, func(text []byte) error {
		deltas = append(deltas, string(text))
		return nil
	})
	if err != nil && strings.Contains(err.Error(), secretPrompt) {
		t.Errorf("error quotes the prompt: %v", err)
	}
	return deltas, res, err
}

var helloResult = Result{FinishReason: "stop", PromptTokens: 7, CompletionTokens: 2}

func TestChatHappyPath(t *testing.T) {
	for _, suite := range []crypto.Suite{crypto.SuiteX25519, crypto.SuiteXWing} {
		t.Run(suite.String(), func(t *testing.T) {
			s := clienttest.New(t)
			c, dev := newClient(t, s, func(cfg *Config) { cfg.Suite = suite })
			temp, seed := 0.5, uint64(42)
			req := Request{
				Messages: []Message{
					{Role: RoleSystem, Content: "Be brief."},
					{Role: RoleUser, Content: "Hi <there> & \"you\" é"},
				},
				MaxTokens: 64, Temperature: &temp, Seed: &seed, Stop: []string{"\n\n"},
			}
			deltas, res, err := chat(t, c, req)
			if err != nil {
				t.Fatalf("Chat: %v", err)
			}
			if got := strings.Join(deltas, "|"); got != "Hello|, world." {
				t.Errorf("deltas = %q", got)
			}
			if res != helloResult {
				t.Errorf("result = %+v", res)
			}
			rec := s.Received()
			if len(rec) != 1 {
				t.Fatalf("server opened %d requests, want 1", len(rec))
			}
			want := `{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi <there> & \"you\" é"}],"max_tokens":64,"temperature":0.5,"seed":42,"stop":["\n\n"],"shape":"constant"}`
			if rec[0].Inner != want {
				t.Errorf("inner request\n got %s\nwant %s", rec[0].Inner, want)
			}
			if rec[0].Suite != suite || rec[0].KeyID != currentKey(t, s.Document(), suite) {
				t.Errorf("sealed to key %d of %s", rec[0].KeyID, rec[0].Suite)
			}
			pub, _ := Ed25519Signer(dev)
			if rec[0].Device != pub.Device().String() {
				t.Errorf("Sotto-Device = %s", rec[0].Device)
			}
			// A second chat reuses the held key configuration.
			if _, res, err := chat(t, c, userRequest()); err != nil || res != helloResult {
				t.Fatalf("second Chat: %+v, %v", res, err)
			}
			if got := s.Counts(); got.Pubkey != 1 || got.Chat != 2 {
				t.Errorf("counts = %+v, want 1 pubkey fetch, 2 chats", got)
			}
			if r := s.Received(); r[0].RID == r[1].RID {
				t.Error("two requests share a rid")
			}
		})
	}
}

// currentKey returns the key_id of suite's newest current key in doc.
func currentKey(t *testing.T, doc []byte, suite crypto.Suite) uint8 {
	t.Helper()
	d, err := keyconfig.Parse(doc)
	if err != nil {
		t.Fatal(err)
	}
	var cur *keyconfig.Key
	for i, k := range d.Keys {
		if k.Suite == suite && k.State == keyconfig.StateCurrent && (cur == nil || k.NotBefore.After(cur.NotBefore)) {
			cur = &d.Keys[i]
		}
	}
	if cur == nil {
		t.Fatalf("no current %s key", suite)
	}
	return cur.KeyID
}

func TestKeyRotationRefresh(t *testing.T) {
	s := clienttest.New(t)
	c, _ := newClient(t, s, nil)
	if _, _, err := chat(t, c, userRequest()); err != nil {
		t.Fatal(err)
	}
	old := s.Received()[0].KeyID
	s.Rotate() // the held key is retired at once: the next request gets 422 #key
	newID := currentKey(t, s.Document(), crypto.SuiteX25519)
	if newID == old {
		t.Fatal("rotation kept the key")
	}
	deltas, res, err := chat(t, c, userRequest())
	if err != nil || res != helloResult || strings.Join(deltas, "") != "Hello, world." {
		t.Fatalf("Chat after rotation: %q %+v %v", deltas, res, err)
	}
	rec := s.Received()
	if len(rec) != 2 || rec[1].KeyID != newID {
		t.Fatalf("after rotation: %d requests opened, last key %d, want key %d", len(rec), rec[len(rec)-1].KeyID, newID)
	}
	// The 422 carried the new document: no second GET /api/pubkey.
	if got := s.Counts(); got.Chat != 3 || got.Pubkey != 1 {
		t.Errorf("counts = %+v, want 3 chats (one refused #key), 1 pubkey fetch", got)
	}
}

// TestDateSkewCorrection: a server clock that moves after the client
// learned it gives one #date refusal; the client corrects its offset from
// the problem's Date, retries once and keeps the offset.
func TestDateSkewCorrection(t *testing.T) {
	for _, skew := range []time.Duration{5 * time.Minute, -5 * time.Minute} {
		t.Run(skew.String(), func(t *testing.T) {
			s := clienttest.New(t)
			c, _ := newClient(t, s, nil)
			if _, _, err := chat(t, c, userRequest()); err != nil {
				t.Fatal(err)
			}
			s.SetClockOffset(skew)
			_, res, err := chat(t, c, userRequest())
			if err != nil || res != helloResult {
				t.Fatalf("Chat: %+v, %v", res, err)
			}
			if got := s.Counts(); got.Chat != 3 {
				t.Errorf("chats = %d, want 3 (one refused #date)", got.Chat)
			}
			rec := s.Received()
			if d := time.Until(rec[1].TS) - skew; d < -2*time.Second || d > 2*time.Second {
				t.Errorf("corrected ts off the server clock by %s", d)
			}
			// The offset is kept: the next request is accepted at once.
			if _, _, err := chat(t, c, userRequest()); err != nil {
				t.Fatal(err)
			}
			if got := s.Counts(); got.Chat != 4 {
				t.Errorf("chats = %d, want 4", got.Chat)
			}
		})
	}
}

func TestDateRetriedOnce(t *testing.T) {
	s := clienttest.New(t)
	c, _ := newClient(t, s, nil)
	s.QueueProblems(problem.New(problem.Date), problem.New(problem.Date))
	_, _, err := chat(t, c, userRequest())
	var pe *ProblemError
	if !errors.As(err, &pe) || pe.Status != 400 || pe.Name != problem.Date {
		t.Fatalf("err = %v, want the #date problem", err)
	}
	if got := s.Counts().Chat; got != 2 {
		t.Errorf("chats = %d, want 2", got)
	}
}

func TestProofOfWork(t *testing.T) {
	s := clienttest.New(t)
	s.RequirePoW(8)
	c, _ := newClient(t, s, nil)
	_, res, err := chat(t, c, userRequest())
	if err != nil || res != helloResult {
		t.Fatalf("Chat: %+v, %v", res, err)
	}
	rec := s.Received()
	if got := s.Counts().Chat; got != 2 || len(rec) != 1 {
		t.Fatalf("chats = %d, opened %d; want 2 chats (one refused #pow), 1 opened", got, len(rec))
	}
	if !strings.HasPrefix(rec[0].PoW, "v1;bits=8;exp=") || !strings.Contains(rec[0].PoW, ";nonce=") {
		t.Errorf("Sotto-PoW = %q", rec[0].PoW)
	}
}

func TestProofOfWorkTooHard(t *testing.T) {
	s := clienttest.New(t)
	s.RequirePoW(20)
	c, _ := newClient(t, s, func(cfg *Config) { cfg.MaxPoWBits = 10 })
	_, _, err := chat(t, c, userRequest())
	if !errors.Is(err, ErrPoWTooHard) {
		t.Fatalf("err = %v, want ErrPoWTooHard", err)
	}
	if got := s.Counts().Chat; got != 1 {
		t.Errorf("chats = %d, want 1", got)
	}
}

func TestTruncatedStream(t *testing.T) {
	s := clienttest.New(t)
	s.MangleStream(func(sse []byte) []byte {
		i := bytes.Index(sse, []byte("event: final"))
		return sse[:bytes.LastIndex(sse[:i], []byte("id: "))] // drop the final event
	})
	c, _ := newClient(t, s, nil)
	deltas, res, err := chat(t, c, userRequest())
	if !errors.Is(err, crypto.ErrStreamTruncated) || res != (Result{}) {
		t.Fatalf("err = %v, result %+v; want ErrStreamTruncated", err, res)
	}
	if strings.Join(deltas, "") != "Hello, world." {
		t.Errorf("deltas before the cut = %q", deltas)
	}
}

func TestTamperedChunk(t *testing.T) {
	s := clienttest.New(t)
	s.MangleStream(func(sse []byte) []byte {
		i := bytes.Index(sse, []byte("id: 0\ndata: ")) + len("id: 0\ndata: ") + 5
		out := bytes.Clone(sse)
		if out[i] == 'A' {
			out[i] = 'B'
		} else {
			out[i] = 'A'
		}
		return out
	})
	c, _ := newClient(t, s, nil)
	deltas, _, err := chat(t, c, userRequest())
	if !errors.Is(err, crypto.ErrStreamCorrupt) {
		t.Fatalf("err = %v, want ErrStreamCorrupt", err)
	}
	if len(deltas) != 0 {
		t.Errorf("deltas of a tampered stream = %q", deltas)
	}
}

func TestResponseSizeLimit(t *testing.T) {
	s := clienttest.New(t)
	c, _ := newClient(t, s, func(cfg *Config) { cfg.MaxResponseBytes = 100 })
	_, _, err := chat(t, c, userRequest())
	if !errors.Is(err, ErrResponse) || !errors.Is(err, crypto.ErrStreamTruncated) {
		t.Fatalf("err = %v, want ErrResponse (stream truncated)", err)
	}
}

func TestCancelClosesStream(t *testing.T) {
	s := clienttest.New(t)
	s.SetReply(clienttest.Reply{Deltas: []string{"partial"}, Hang: true})
	c, _ := newClient(t, s, nil)
	ctx, cancel := context.WithCancel(context.Background())
	var got []string
	_, err := c.Chat(ctx, userRequest(), func(text []byte) error {
		got = append(got, string(text))
		cancel() // the user stops the reply after its first words
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if strings.Join(got, "") != "partial" {
		t.Errorf("deltas = %q", got)
	}
	waitFor(t, func() bool { return s.Counts().Abandoned == 1 })
}

func TestOnDeltaErrorStops(t *testing.T) {
	s := clienttest.New(t)
	s.SetReply(clienttest.Reply{Deltas: []string{"a", "b"}, Hang: true})
	c, _ := newClient(t, s, nil)
	stop := errors.New("enough")
	_, err := c.Chat(context.Background(), userRequest(), func([]byte) error { return stop })
	if err != stop {
		t.Fatalf("err = %v, want the callback's error as is", err)
	}
	waitFor(t, func() bool { return s.Counts().Abandoned == 1 })
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not met within 5s")
}

func TestGenerationErrorIsAResult(t *testing.T) {
	s := clienttest.New(t)
	s.SetReply(clienttest.Reply{Final: crypto.Final{Reason: "error", PromptTokens: 3, ErrorCode: "engine_failed"}})
	c, _ := newClient(t, s, nil)
	deltas, res, err := chat(t, c, userRequest())
	want := Result{FinishReason: "error", PromptTokens: 3, ErrorCode: "engine_failed"}
	if err != nil || res != want || len(deltas) != 0 {
		t.Fatalf("got %q %+v %v, want %+v", deltas, res, err, want)
	}
}

func TestP256Signer(t *testing.T) {
	s := clienttest.New(t)
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := P256Signer(priv)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := newClient(t, s, func(cfg *Config) { cfg.Signer = signer })
	if _, res, err := chat(t, c, userRequest()); err != nil || res != helloResult {
		t.Fatalf("Chat: %+v, %v", res, err)
	}
	if got := s.Received()[0].Device; got != signer.Device().String() || !strings.HasPrefix(got, "p256:") {
		t.Errorf("Sotto-Device = %s", got)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	pub, dev, _ := ed25519.GenerateKey(rand.Reader)
	const badURL = "client: BaseURL must be an absolute http(s) URL"
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"relative URL", Config{BaseURL: "/api", SigningKey: pub, DeviceKey: dev}, badURL},
		{"ftp URL", Config{BaseURL: "ftp://x", SigningKey: pub, DeviceKey: dev}, badURL},
		{"no pin", Config{BaseURL: "http://x", DeviceKey: dev}, "client: a pinned Ed25519 signing key is required"},
		{"no device", Config{BaseURL: "http://x", SigningKey: pub}, "client: a device key (DeviceKey or Signer) is required"},
		{"bad suite", Config{BaseURL: "http://x", SigningKey: pub, DeviceKey: dev, Suite: crypto.Suite{KEM: 1, KDF: 1, AEAD: 3}},
			"client: " + crypto.ErrSuite.Error()},
	} {
		if _, err := New(tc.cfg); err == nil || err.Error() != tc.want {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
}

// TestChatShaped: a server that shapes its reply streams; the client asks
// for it by default, reads the stream to its end, and refuses one cut
// after the final frame (the bucket not filled) as truncated.
func TestChatShaped(t *testing.T) {
	s := clienttest.New(t)
	s.SetReply(clienttest.Reply{Deltas: []string{"Hello", ", world."}, Final: crypto.Final{Reason: "stop", PromptTokens: 7, CompletionTokens: 2}, Shaped: true})
	c, _ := newClient(t, s, func(cfg *Config) { cfg.RequireShape = true })
	deltas, res, err := chat(t, c, userRequest())
	want := helloResult
	want.Shaped = true
	if err != nil || strings.Join(deltas, "|") != "Hello|, world." || res != want {
		t.Fatalf("shaped chat: %q %+v %v", deltas, res, err)
	}
	// Cut after the final frame: the reply is complete, but the stream is
	// not, and a client must not accept a stream an attacker shortened.
	s.MangleStream(func(sse []byte) []byte {
		events := bytes.SplitAfter(sse, []byte("\n\n"))
		return bytes.Join(events[:7], nil)
	})
	if _, _, err := chat(t, c, userRequest()); !errors.Is(err, crypto.ErrStreamTruncated) {
		t.Fatalf("cut after the final frame: %v, want truncated", err)
	}
	// The final frame dropped: the next frame does not decrypt.
	s.MangleStream(func(sse []byte) []byte {
		events := bytes.SplitAfter(sse, []byte("\n\n"))
		return bytes.Join(append(events[:5:5], events[6:]...), nil)
	})
	if _, _, err := chat(t, c, userRequest()); !errors.Is(err, crypto.ErrStreamCorrupt) {
		t.Fatalf("final frame dropped: %v, want corrupt", err)
	}
	// A client that did not ask gets the unshaped stream; one that
	// requires the shape refuses it.
	u, _ := newClient(t, s, func(cfg *Config) { cfg.Unshaped = true })
	s.MangleStream(nil)
	if _, res, err := chat(t, u, userRequest()); err != nil || res.Shaped || s.Received()[len(s.Received())-1].Shape {
		t.Fatalf("unshaped client: %+v %v", res, err)
	}
	s.SetReply(clienttest.Reply{Deltas: []string{"Hello"}, Final: helloFinal()})
	if _, _, err := chat(t, c, userRequest()); !errors.Is(err, ErrResponse) {
		t.Fatalf("RequireShape on an unshaped stream: %v, want ErrResponse", err)
	}
}

func helloFinal() crypto.Final {
	return crypto.Final{Reason: "stop", PromptTokens: 7, CompletionTokens: 2}
}
