package router

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/sony/gobreaker/v2"

	"github.com/sottolabs/sotto/crypto/wire"
)

// wantProblem checks a router's answer: status, problem media type and
// type; never an empty 200.
func wantProblem(t *testing.T, resp *http.Response, body []byte, status int, name string) {
	t.Helper()
	var doc struct {
		Type   string `json:"type"`
		Status int    `json:"status"`
	}
	if resp.StatusCode != status || resp.Header.Get("Content-Type") != wire.MediaTypeProblem ||
		json.Unmarshal(body, &doc) != nil || doc.Type != wire.ProblemType(name) || doc.Status != status {
		t.Fatalf("answer %d %q %q, want %d #%s", resp.StatusCode, resp.Header.Get("Content-Type"), body, status, name)
	}
}

// attempts returns the router's attempt counter for u and outcome.
func attempts(r *Router, outcome string) float64 {
	return testutil.ToFloat64(r.metrics.requests.WithLabelValues("w1", outcome))
}

// TestWorkerLostBeforeHeaders: a worker that reads the request and dies
// before its response headers gets the client 502 #worker-lost (never an
// empty 200), and the request is not sent to a second worker.
func TestWorkerLostBeforeHeaders(t *testing.T) {
	var chats atomic.Int32
	lost := newFakeWorkerFunc(t, func(http.ResponseWriter, *http.Request) {
		chats.Add(1)
		panic(http.ErrAbortHandler) // the stream is reset: the worker is gone
	})
	ts, r := newTestRouterWith(t, nil, lost)
	body, h := sealed(t)
	resp, got := post(t, ts.URL, body, h)
	wantProblem(t, resp, got, http.StatusBadGateway, wire.ProblemWorkerLost)
	if chats.Load() != 1 || attempts(r, "connect_error") != 1 {
		t.Fatalf("%d chats, %v connect errors; want the request sent once, counted once", chats.Load(), attempts(r, "connect_error"))
	}
}

// TestRefusalsLogged: the router logs each refusal of its own by problem
// name and status, and nothing of the request: not the device header's
// value, the body, or the client's address.
func TestRefusalsLogged(t *testing.T) {
	var logs bytes.Buffer // written by the handler goroutine; read after the response
	var mu sync.Mutex
	lost := newFakeWorkerFunc(t, func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) })
	ts, _ := newTestRouterWith(t, func(_ *Config, d *Deps) {
		d.Log = slog.New(slog.NewJSONHandler(lockedWriter{&mu, &logs}, nil))
	}, lost)
	body, h := sealed(t)
	resp, got := post(t, ts.URL, body, h)
	wantProblem(t, resp, got, http.StatusBadGateway, wire.ProblemWorkerLost)
	resp, got = post(t, ts.URL, []byte("not an envelope"), h)
	wantProblem(t, resp, got, http.StatusBadRequest, wire.ProblemEnvelope)
	mu.Lock()
	out := logs.String()
	mu.Unlock()
	for _, want := range []string{`"msg":"refused","problem":"worker-lost","status":502`, `"msg":"refused","problem":"envelope","status":400`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
	for _, secret := range []string{h.Get(wire.HeaderDevice), "not an envelope", "127.0.0.1"} {
		if secret != "" && strings.Contains(out, secret) {
			t.Errorf("log holds %q:\n%s", secret, out)
		}
	}
}

// lockedWriter serialises writes to w under mu.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestWorkerSilentBeforeHeaders: a frozen worker past the first-byte
// timeout gets the client 504 #worker-timeout, counted as the worker's
// fault.
func TestWorkerSilentBeforeHeaders(t *testing.T) {
	frozen := newFakeWorkerFunc(t, func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	ts, r := newTestRouterWith(t, func(c *Config, _ *Deps) { c.FirstByteTimeout = 100 * time.Millisecond }, frozen)
	body, h := sealed(t)
	resp, got := post(t, ts.URL, body, h)
	wantProblem(t, resp, got, http.StatusGatewayTimeout, wire.ProblemWorkerTimeout)
	if n := attempts(r, "first_byte_timeout"); n != 1 {
		t.Fatalf("%v first-byte timeouts counted, want 1", n)
	}
}

// TestBreakerCountsOnlyWorkerFaults: clients that leave before the
// worker's headers, and streams cut by the total timeout, never open the
// worker's breaker (threshold 3); a worker silent mid-stream does.
func TestBreakerCountsOnlyWorkerFaults(t *testing.T) {
	received := make(chan struct{}, 1)
	slow := newFakeWorkerFunc(t, func(_ http.ResponseWriter, r *http.Request) {
		received <- struct{}{}
		<-r.Context().Done()
	})
	ts, r := newTestRouterWith(t, nil, slow)
	for range 4 {
		body, h := sealed(t)
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, ts.URL+wire.PathChat, bytes.NewReader(body))
		req.Header = h
		go func() { <-received; cancel() }()
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			t.Fatalf("answer %d after the client left: the breaker opened", resp.StatusCode)
		}
		waitFor(t, func() bool { return r.Upstreams()[0].InFlight() == 0 })
	}
	if st := r.Upstreams()[0].breaker.State(); st != gobreaker.StateClosed || attempts(r, "client_gone") != 4 {
		t.Fatalf("after 4 clients left: breaker %v, %v client_gone", st, attempts(r, "client_gone"))
	}
}

// TestBreakerIgnoresTotalTimeout: streams longer than the total timeout
// end without counting against the worker; streams silent for the idle
// timeout do.
func TestBreakerIgnoresTotalTimeout(t *testing.T) {
	long := newFakeWorkerFunc(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", wire.MediaTypeStream)
		_, _ = w.Write(stream[0])
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	ts, r := newTestRouterWith(t, func(c *Config, _ *Deps) { c.TotalTimeout = 300 * time.Millisecond }, long)
	for range 4 {
		body, h := sealed(t)
		if resp, got := post(t, ts.URL, body, h); resp.StatusCode != 200 || !bytes.Equal(got, stream[0]) {
			t.Fatalf("long stream: %d %q", resp.StatusCode, got)
		}
	}
	if st := r.Upstreams()[0].breaker.State(); st != gobreaker.StateClosed || attempts(r, "total_timeout") != 4 {
		t.Fatalf("after 4 streams cut by the total timeout: breaker %v, %v total_timeout", st, attempts(r, "total_timeout"))
	}
	ts, r = newTestRouterWith(t, func(c *Config, _ *Deps) { c.IdleTimeout = 100 * time.Millisecond }, long)
	for range 3 {
		body, h := sealed(t)
		post(t, ts.URL, body, h)
	}
	if st := r.Upstreams()[0].breaker.State(); st != gobreaker.StateOpen {
		t.Fatalf("after 3 streams silent for the idle timeout: breaker %v, want open", st)
	}
}

// waitFor polls cond (the router settles an attempt after the client's
// connection ends).
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for i := 0; !cond(); i++ {
		if i == 500 {
			t.Fatal("condition never met")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
