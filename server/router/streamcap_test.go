package router

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"net/http"
	"testing"
	"time"

	"github.com/sottolabs/sotto/crypto/device"
	"github.com/sottolabs/sotto/crypto/wire"
	"github.com/sottolabs/sotto/server/ratelimit"
)

// TestStreamCapIsPerRouter pins the bound docs/operations.md states for
// MAX_STREAMS_PER_DEVICE behind several routers: each router counts the
// streams that pass through it, so with a cap of 1 and two routers a
// device holds two streams (one through each), and a third, through
// either, is refused 429 #rate-limited without reaching a worker. (The
// worker counts the device's streams again, and every router sends a
// device to the same home worker: that cap is server.TestStreamsPerDevice.)
func TestStreamCapIsPerRouter(t *testing.T) {
	hold := make(chan struct{})
	w := heldWorker(t, hold)
	a, b := cappedRouter(t, w, 1), cappedRouter(t, w, 1)
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	first, second := openStream(t, a, priv), openStream(t, b, priv)
	for name, url := range map[string]string{"first router": a, "second router": b} {
		body, h := sealedBy(t, priv)
		resp, doc := post(t, url, body, h)
		if resp.StatusCode != http.StatusTooManyRequests || !bytes.Contains(doc, []byte("#rate-limited")) {
			t.Fatalf("third stream of the device through the %s: %d %s, want 429 #rate-limited", name, resp.StatusCode, doc)
		}
	}
	w.mu.Lock()
	chats := w.chats
	w.mu.Unlock()
	if chats != 2 {
		t.Fatalf("the worker received %d chats, want the 2 streams held", chats)
	}
	close(hold)
	first.Body.Close()
	second.Body.Close()
}

// heldWorker is a fake worker whose chat streams send one event and then
// stay open until hold is closed.
func heldWorker(t *testing.T, hold <-chan struct{}) *fakeWorker {
	var f *fakeWorker
	f = newFakeWorkerFunc(t, func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.chats++
		f.mu.Unlock()
		w.Header().Set("Content-Type", wire.MediaTypeStream)
		_, _ = w.Write(stream[0])
		w.(http.Flusher).Flush()
		select {
		case <-hold:
		case <-r.Context().Done():
		}
	})
	return f
}

// cappedRouter runs a router over w whose per-device stream cap is n,
// and returns its URL once it is ready.
func cappedRouter(t *testing.T, w *fakeWorker, n int) string {
	t.Helper()
	ts, _ := newTestRouterWith(t, func(c *Config, d *Deps) {
		c.IdleTimeout, c.TotalTimeout = 30*time.Second, time.Minute
		d.Streams = ratelimit.NewConcurrency(n, 100)
	}, w)
	return ts.URL
}

// openStream starts a chat of priv's device through url and returns the
// response once its first event has arrived (the stream is then held).
func openStream(t *testing.T, url string, priv ed25519.PrivateKey) *http.Response {
	t.Helper()
	body, h := sealedBy(t, priv)
	req, _ := http.NewRequest(http.MethodPost, url+wire.PathChat, bytes.NewReader(body))
	req.Header = h
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, len(stream[0]))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("stream through %s: %d", url, resp.StatusCode)
	}
	if _, err := resp.Body.Read(buf); err != nil {
		t.Fatal(err)
	}
	return resp
}

// sealedBy is a sealed request signed by priv's device instead of a new
// one.
func sealedBy(t *testing.T, priv ed25519.PrivateKey) ([]byte, http.Header) {
	t.Helper()
	body, h := sealed(t)
	dk, _ := device.PublicKey(priv)
	sig, err := device.Sign(priv, body)
	if err != nil {
		t.Fatal(err)
	}
	h.Set(wire.HeaderDevice, dk.String())
	h.Set(wire.HeaderSignature, sig)
	return body, h
}
