package router

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sottolabs/sotto/crypto"
	"github.com/sottolabs/sotto/crypto/device"
	"github.com/sottolabs/sotto/crypto/keyconfig"
	"github.com/sottolabs/sotto/crypto/replay"
	"github.com/sottolabs/sotto/crypto/wire"
	"github.com/sottolabs/sotto/internal/locked"
	"github.com/sottolabs/sotto/server/clientip"
	"github.com/sottolabs/sotto/server/metrics"
	"github.com/sottolabs/sotto/server/ratelimit"
)

// These tests drive the router against stand-in workers (httptest TLS
// servers speaking HTTP/2) to check what the router itself does with
// bytes: the relay, header filtering and retries. The real workers, with
// llama.cpp and mutual TLS, are in cmd/sotto's multi-node tests.

// stream is a worker's sealed SSE answer as opaque bytes, with framing a
// careless proxy would normalise (CRLF, comments, an event split over
// writes).
var stream = [][]byte{
	[]byte(": sotto\r\nid: 0\r\ndata: AAAA\r\n\r\n"),
	[]byte("id: 1\ndata: BB"),
	[]byte("BB\n\nid: 2\ndata: CCCC\n\n"),
}

// fakeWorker answers capacity, the key configuration and chats; status
// is its chat answer (200: stream).
type fakeWorker struct {
	srv    *httptest.Server
	mu     sync.Mutex
	status int
	body   []byte
	header http.Header
	chats  int
	down   atomic.Bool // capacity checks answer 500
}

func newFakeWorker(t *testing.T, status int) *fakeWorker {
	f := &fakeWorker{status: status}
	return f.start(t, f.chat)
}

// newFakeWorkerFunc is a fake worker whose chats chat answers.
func newFakeWorkerFunc(t *testing.T, chat http.HandlerFunc) *fakeWorker {
	return (&fakeWorker{}).start(t, chat)
}

func (f *fakeWorker) start(t *testing.T, chat http.HandlerFunc) *fakeWorker {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+wire.PathCapacity, func(w http.ResponseWriter, _ *http.Request) {
		if f.down.Load() { // healthcheck_test.go
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte(`{"ready":true,"slots":2,"busy":0,"queued":0,"queue_depth":4}`))
	})
	doc := keyDocument(t)
	mux.HandleFunc("GET "+wire.PathPubkey, func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write(doc)
	})
	mux.HandleFunc("POST "+wire.PathChat, chat)
	mux.HandleFunc("POST "+wire.PathEnroll, f.enrol) // enroll_test.go
	mux.HandleFunc("POST "+wire.PathEnrollChallenge, f.enrol)
	f.srv = httptest.NewUnstartedServer(mux)
	f.srv.EnableHTTP2 = true
	f.srv.StartTLS()
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeWorker) chat(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.body, f.header, f.chats = b, r.Header.Clone(), f.chats+1
	status := f.status
	f.mu.Unlock()
	w.Header().Set("X-Worker-Internal", "w1.internal")
	if status != http.StatusOK {
		w.Header().Set("Content-Type", wire.MediaTypeProblem)
		w.Header().Set("Retry-After", "3")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"type":"https://sotto.invalid/problems/v1#overloaded","title":"Server overloaded","status":503}`))
		return
	}
	w.Header().Set("Content-Type", wire.MediaTypeStream)
	for _, part := range stream {
		_, _ = w.Write(part)
		w.(http.Flusher).Flush()
	}
}

// keyDocument is a signed key configuration with one current X25519 key,
// key_id 1 (the id sealed uses); its public key is random: the router
// never seals to it.
func keyDocument(t *testing.T) []byte {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	pk := make([]byte, 32)
	_, _ = rand.Read(pk)
	d := &keyconfig.Document{IssuedAt: now, Expires: now.Add(24 * time.Hour), Keys: []keyconfig.Key{{
		KeyID: 1, Suite: crypto.SuiteX25519, PublicKey: pk, NotBefore: now.Add(-time.Hour),
		NotAfter: now.Add(time.Hour), State: keyconfig.StateCurrent}}}
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	if err := keyconfig.Sign(d, priv); err != nil {
		t.Fatal(err)
	}
	b, err := d.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// newTestRouter builds and runs a router over the fake workers and waits
// until it is ready.
func newTestRouter(t *testing.T, workers ...*fakeWorker) *httptest.Server {
	t.Helper()
	ts, _ := newTestRouterWithMetrics(t, workers...)
	return ts
}

// newTestRouterWithMetrics is newTestRouter, also returning the metrics.
func newTestRouterWithMetrics(t *testing.T, workers ...*fakeWorker) (*httptest.Server, *metrics.Metrics) {
	t.Helper()
	ts, r := newTestRouterWith(t, nil, workers...)
	return ts, r.d.Metrics
}

// newTestRouterWith is newTestRouter after set changed the configuration
// and dependencies (nil: none changed); it also returns the Router.
func newTestRouterWith(t *testing.T, set func(*Config, *Deps), workers ...*fakeWorker) (*httptest.Server, *Router) {
	t.Helper()
	urls := make([]string, len(workers))
	for i, w := range workers {
		urls[i] = w.srv.URL
	}
	cfg := Config{
		Upstreams: urls, Transport: workers[0].srv.Client().Transport, HealthInterval: 20 * time.Millisecond,
		BreakerThreshold: 3, BreakerReset: time.Second, FirstByteTimeout: 5 * time.Second,
		IdleTimeout: 5 * time.Second, TotalTimeout: 10 * time.Second, RequestTTL: time.Minute,
		MaxBodyBytes: 1 << 20, PoWMode: PoWOff,
	}
	d := Deps{
		Replay: replay.NewMemory(100), Devices: device.NewOpenPolicy(),
		IPLimiter: ratelimit.NewMemory(600, 100, 100), DeviceLimiter: ratelimit.NewMemory(600, 100, 100),
		Streams: ratelimit.NewConcurrency(10, 100), Keyer: ratelimit.NewSharedKeyer(bytes.Repeat([]byte{9}, 32), locked.NewBudget(locked.Unlimited)), Metrics: metrics.New(),
		Log: slog.New(slog.DiscardHandler), ClientIP: clientip.New(nil, false).ClientIP,
	}
	if set != nil {
		set(&cfg, &d)
	}
	r, err := New(cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	ts := httptest.NewServer(r.Handler())
	t.Cleanup(ts.Close)
	for i := 0; !r.ready(); i++ {
		if i == 500 {
			t.Fatal("router never ready")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return ts, r
}

// sealed is a request body with a valid envelope header and its device
// headers; the router cannot and does not open it.
func sealed(t *testing.T) ([]byte, http.Header) {
	t.Helper()
	pk := make([]byte, 32)
	_, _ = rand.Read(pk)
	var rid [16]byte
	_, _ = rand.Read(rid[:])
	body, sc, err := crypto.Seal(crypto.SuiteX25519, 1, pk, []byte(`{"messages":[{"role":"user","content":"hi"}]}`),
		time.Now().UnixMilli(), rid, nil)
	if err != nil {
		t.Fatal(err)
	}
	sc.Destroy()
	return body, signed(t, body)
}

// signed returns the headers of body signed by a new device key.
func signed(t *testing.T, body []byte) http.Header {
	t.Helper()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	dk, _ := device.PublicKey(priv)
	sig, err := device.Sign(priv, body)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set("Content-Type", wire.MediaTypeRequest)
	h.Set(wire.HeaderDevice, dk.String())
	h.Set(wire.HeaderSignature, sig)
	return h
}

func post(t *testing.T, url string, body []byte, h http.Header) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+wire.PathChat, bytes.NewReader(body))
	req.Header = h
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	return resp, got
}

// TestRelayIsByteExact: the worker receives the client's body and device
// headers unchanged, and the client receives the worker's stream byte for
// byte, without the worker's own headers.
func TestRelayIsByteExact(t *testing.T) {
	w := newFakeWorker(t, http.StatusOK)
	ts := newTestRouter(t, w)
	body, h := sealed(t)
	resp, got := post(t, ts.URL, body, h)
	if resp.StatusCode != 200 || !bytes.Equal(got, bytes.Join(stream, nil)) {
		t.Fatalf("relayed %d %q, want the worker's bytes", resp.StatusCode, got)
	}
	if resp.Header.Get("X-Worker-Internal") != "" || resp.Header.Get("Content-Type") != wire.MediaTypeStream {
		t.Fatalf("response headers %v", resp.Header)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if !bytes.Equal(w.body, body) || w.header.Get(wire.HeaderDevice) != h.Get(wire.HeaderDevice) ||
		w.header.Get(wire.HeaderSignature) != h.Get(wire.HeaderSignature) {
		t.Fatal("the worker did not receive the sealed body and device headers unchanged")
	}
	if resp, _ := post(t, ts.URL, body, h); resp.StatusCode != 400 {
		t.Fatalf("the same body again: %d, want 400 (#replay, the router's own claim)", resp.StatusCode)
	}
}

// TestRetryOnUnclaimed503: a worker's 503 (sent only before it claims the
// rid) sends the request to another worker; when every worker refuses,
// the client gets 503 #overloaded with a Retry-After.
func TestRetryOnUnclaimed503(t *testing.T) {
	busy, ok := newFakeWorker(t, http.StatusServiceUnavailable), newFakeWorker(t, http.StatusOK)
	ts := newTestRouter(t, busy, ok)
	for range 4 {
		body, h := sealed(t)
		if resp, got := post(t, ts.URL, body, h); resp.StatusCode != 200 || !bytes.Equal(got, bytes.Join(stream, nil)) {
			t.Fatalf("with one worker refusing: %d %q", resp.StatusCode, got)
		}
	}
	tsAll := newTestRouter(t, newFakeWorker(t, http.StatusServiceUnavailable))
	body, h := sealed(t)
	resp, got := post(t, tsAll.URL, body, h)
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || !bytes.Contains(got, []byte("#overloaded")) {
		t.Fatalf("every worker refusing: %d %s", resp.StatusCode, got)
	}
}
