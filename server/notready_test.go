package server_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sottolabs/sotto/crypto"
	"github.com/sottolabs/sotto/crypto/device"
	"github.com/sottolabs/sotto/crypto/keys"
	"github.com/sottolabs/sotto/crypto/replay"
	"github.com/sottolabs/sotto/crypto/wire"
	"github.com/sottolabs/sotto/internal/locked"
	"github.com/sottolabs/sotto/server"
	"github.com/sottolabs/sotto/server/clientip"
	"github.com/sottolabs/sotto/server/metrics"
	"github.com/sottolabs/sotto/server/ratelimit"
)

// TestBeforeEngineAttached: a server built without an engine (the model
// still loading) answers liveness and the key configuration, and refuses
// readiness and chats with 503 #overloaded and a Retry-After. This test
// needs no cgo: the server depends on the engine contract alone.
func TestBeforeEngineAttached(t *testing.T) {
	budget := locked.NewBudget(locked.Unlimited)
	dir := filepath.Join(t.TempDir(), "keys")
	if err := keys.Init(dir, []crypto.Suite{crypto.SuiteX25519}, time.Now(), budget); err != nil {
		t.Fatal(err)
	}
	store, err := keys.Open(dir, budget)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	srv, err := server.New(server.Options{RequestTTL: time.Minute, MaxBodyBytes: 1 << 20, PoWMode: server.PoWOff}, server.Deps{
		Keys: store, Replay: replay.NewMemory(10), Devices: device.NewOpenPolicy(),
		IPLimiter: ratelimit.NewMemory(60, 10, 10), DeviceLimiter: ratelimit.NewMemory(60, 10, 10),
		Streams: ratelimit.NewConcurrency(1, 10), Budget: budget, Metrics: metrics.New(),
		Log: slog.New(slog.DiscardHandler), ClientIP: clientip.New(nil, false).ClientIP,
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	do := func(method, path string, body []byte) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, ts.URL+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", wire.MediaTypeRequest)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	if resp, b := do("GET", wire.PathHealthLive, nil); resp.StatusCode != 200 || string(b) != `{"status":"live"}` {
		t.Errorf("live: %d %s", resp.StatusCode, b)
	}
	if resp, b := do("GET", wire.PathPubkey, nil); resp.StatusCode != 200 || !bytes.Contains(b, []byte(`"keys"`)) {
		t.Errorf("pubkey: %d %s", resp.StatusCode, b)
	}
	for _, c := range []struct{ method, path string }{{"GET", wire.PathHealthReady}, {"GET", wire.PathHealth}, {"POST", wire.PathChat}} {
		resp, b := do(c.method, c.path, make([]byte, 400))
		if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "5" ||
			!strings.Contains(string(b), wire.ProblemType(wire.ProblemOverloaded)) {
			t.Errorf("%s %s: %d %q %s", c.method, c.path, resp.StatusCode, resp.Header.Get("Retry-After"), b)
		}
	}
	srv.SetReady(true) // no engine: still not ready
	if resp, _ := do("GET", wire.PathHealthReady, nil); resp.StatusCode != 503 {
		t.Errorf("ready without an engine: %d", resp.StatusCode)
	}
}
