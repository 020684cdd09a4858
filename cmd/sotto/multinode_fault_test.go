package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sottolabs/sotto/client"
	"github.com/sottolabs/sotto/crypto"
	"github.com/sottolabs/sotto/crypto/device"
	"github.com/sottolabs/sotto/internal/locked"
	"github.com/sottolabs/sotto/internal/memscan"
	"github.com/sottolabs/sotto/internal/testenv"
)

// sdk is a Go client of the cluster through router r; rec, when set,
// records every request body and header sent.
func (c *cluster) sdk(t *testing.T, r *proc, rec *recorder) *client.Client {
	t.Helper()
	priv, err := device.ReadKeyFile(c.deviceKey, locked.NewBudget(locked.Unlimited))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(priv.Destroy)
	pin, err := parsePin(c.pin)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{}
	if rec != nil {
		hc.Transport = rec
	}
	cl, err := client.New(client.Config{BaseURL: r.url, SigningKey: pin, DeviceKey: ed25519.PrivateKey(priv.Bytes()), HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// recorder keeps the last chat request's body and headers.
type recorder struct {
	mu     sync.Mutex
	body   []byte
	header http.Header
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPost && req.Body != nil {
		b, _ := io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(b))
		r.mu.Lock()
		r.body, r.header = b, req.Header.Clone()
		r.mu.Unlock()
	}
	return http.DefaultTransport.RoundTrip(req)
}

// resend posts the recorded request as is to url and returns the status
// and the problem type.
func (r *recorder) resend(t *testing.T, url string) (int, string) {
	t.Helper()
	r.mu.Lock()
	req, _ := http.NewRequest(http.MethodPost, url+"/api/chat", bytes.NewReader(r.body))
	req.Header = r.header.Clone()
	r.mu.Unlock()
	return statusAndProblem(t, http.DefaultClient, req)
}

// statusAndProblem sends req and returns the status and the problem
// name ("" for none), the body read to its end.
func statusAndProblem(t *testing.T, hc *http.Client, req *http.Request) (int, string) {
	t.Helper()
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	_, name, _ := strings.Cut(string(b), "problems/v1#")
	name, _, _ = strings.Cut(name, `"`)
	return resp.StatusCode, name
}

func greedyReq(prompt string, maxTokens int) client.Request {
	zero := 0.0
	return client.Request{Messages: []client.Message{{Role: "user", Content: prompt}}, MaxTokens: maxTokens, Temperature: &zero}
}

// busyWorker returns the worker the router has a request running on.
func busyWorker(t *testing.T, c *cluster, r *proc) *proc {
	t.Helper()
	for i, w := range c.workers {
		if metric(t, r, fmt.Sprintf(`sotto_upstream_in_flight{upstream="w%d"}`, i+1)) == 1 {
			return w
		}
	}
	t.Fatal("no worker has the request in flight")
	return nil
}

// TestWorkerLostMidStream: a worker killed during a stream ends the
// client's stream without its sealed final chunk (the Go client's typed
// crypto.ErrStreamTruncated), and the next requests go to live workers.
func TestWorkerLostMidStream(t *testing.T) {
	c := newCluster(t, 3)
	r := c.startRouter(t)
	cl := c.sdk(t, r, nil)
	killed := false
	_, err := cl.Chat(context.Background(), greedyReq("Once upon a time", 450), func([]byte) error {
		if !killed {
			killed = true
			busyWorker(t, c, r).kill(t)
		}
		return nil
	})
	if !errors.Is(err, crypto.ErrStreamTruncated) {
		t.Fatalf("stream cut by a lost worker: %v, want crypto.ErrStreamTruncated", err)
	}
	for i := range 4 {
		if err := wantReply(cl, "The cat", 16); err != nil {
			t.Fatalf("request %d after the loss: %v\nrouter logs:\n%s", i, err, r.logs.Bytes())
		}
	}
}

// TestCircuitBreakerFlappingWorker: requests to a dead worker open its
// circuit breaker; once the worker is back and the reset has passed, a
// probe closes it again. Health checks are slow here so that the passive
// path (the breaker) is what acts. The dead worker is the device's home,
// so its requests keep trying it first.
func TestCircuitBreakerFlappingWorker(t *testing.T) {
	c := newCluster(t, 3)
	r := c.startRouter(t, "SOTTO_HEALTH_INTERVAL_MS=20000")
	cl := c.sdk(t, r, nil)
	// The router keeps the device on its home worker (rendezvous hashing):
	// the worker to kill is the one that served its first request.
	if err := wantReply(cl, "The cat", 8); err != nil {
		t.Fatal(err)
	}
	home := -1
	for deadline := time.Now().Add(5 * time.Second); home < 0 && time.Now().Before(deadline); {
		for i := range c.workers {
			if metric(t, r, fmt.Sprintf(`sotto_upstream_requests_total{outcome="ok",upstream="w%d"}`, i+1)) == 1 {
				home = i
			}
		}
		time.Sleep(20 * time.Millisecond) // the outcome is counted as the relay returns
	}
	if home < 0 {
		t.Fatal("no worker served the first request")
	}
	w := c.workers[home]
	w.kill(t)
	state := fmt.Sprintf(`sotto_upstream_circuit_state{upstream="w%d"}`, home+1)
	for i := 0; metric(t, r, state) != 2; i++ {
		if i == 30 {
			t.Fatalf("breaker of the dead worker never opened\n%s", r.logs.Bytes())
		}
		if err := wantReply(cl, "The cat", 8); err != nil {
			t.Fatalf("request %d with one worker dead: %v\nrouter logs:\n%s", i, err, r.logs.Bytes())
		}
	}
	w.start(t, "worker")
	w.waitReady(t, c.mtls)
	time.Sleep(1100 * time.Millisecond) // CIRCUIT_RESET_SECONDS=1
	for i := 0; metric(t, r, state) != 0; i++ {
		if i == 30 {
			t.Fatalf("breaker did not close after the worker came back\n%s", r.logs.Bytes())
		}
		if err := wantReply(cl, "The cat", 8); err != nil {
			t.Fatalf("request %d after recovery: %v\nrouter logs:\n%s", i, err, r.logs.Bytes())
		}
	}
}

// TestRoutersShareRedis: two routers with one Redis refuse a request
// replayed through the second (400 #replay) and hold a device's rate
// limit across both: with a burst of 2, requests through A, B, then A
// again make the third 429 (each router alone would have allowed it).
// With Redis gone, requests are refused 503 (fail closed) and counted.
// A relays to worker 1 only and B to worker 2 only, so the replay through
// B reaches a worker that never saw the rid: only the routers' shared
// register can refuse it.
func TestRoutersShareRedis(t *testing.T) {
	rdb, addr := testenv.Redis(t)
	c := newCluster(t, 2)
	secret := filepath.Join(c.dir, "shared.secret")
	if err := os.WriteFile(secret, bytes.Repeat([]byte("s3cr3t-"), 8), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"REDIS_URL=redis://" + addr + "/0", "SOTTO_SHARED_SECRET_FILE=" + secret,
		"RATE_LIMIT_PER_MINUTE=2", "RATE_LIMIT_BURST=2"}
	a := c.startRouter(t, slices.Concat(env, []string{"INFERENCE_ENDPOINTS=" + c.workers[0].url})...)
	b := c.startRouter(t, slices.Concat(env, []string{"INFERENCE_ENDPOINTS=" + c.workers[1].url})...)
	rec := &recorder{}
	if err := wantReply(c.sdk(t, a, rec), "The cat", 8); err != nil {
		t.Fatal(err)
	}
	if status, name := rec.resend(t, b.url); status != 400 || name != "replay" {
		t.Fatalf("replay through the second router: %d %q, want 400 replay", status, name)
	}
	if err := wantReply(c.sdk(t, b, nil), "The cat", 8); err != nil {
		t.Fatalf("second request of the device, through the second router: %v", err)
	}
	_, err := c.sdk(t, a, nil).Chat(context.Background(), greedyReq("The cat", 8), func([]byte) error { return nil })
	var pe *client.ProblemError
	if !errors.As(err, &pe) || pe.Status != 429 || pe.Name != "rate-limited" {
		t.Fatalf("third request of the device (burst 2, shared): %v, want 429 rate-limited", err)
	}
	// Redis gone: the shared state fails closed, visibly.
	_ = rdb.Shutdown(context.Background()).Err()
	_, err = c.sdk(t, b, nil).Chat(context.Background(), greedyReq("The cat", 8), func([]byte) error { return nil })
	if !errors.As(err, &pe) || pe.Status != 503 || pe.Name != "overloaded" {
		t.Fatalf("with Redis down: %v, want 503 overloaded", err)
	}
	if n := metric(t, b, `sotto_shared_state_errors_total{store="ratelimit"}`); n != 1 {
		t.Fatalf("shared_state_errors_total{ratelimit} = %v, want 1", n)
	}
}

// TestRouterMemoryHoldsNoPlaintext: after a stream through the router, a
// scan of the router's whole memory finds neither the prompt's canary nor
// the reply nor any HPKE private key seed of the workers.
func TestRouterMemoryHoldsNoPlaintext(t *testing.T) {
	testenv.RequireRoot(t, "the memory scan reads /proc/PID/mem of a non-dumpable process")
	c := newCluster(t, 1)
	r := c.startRouter(t, "LOG_LEVEL=debug")
	canary := "ZQXROUTERCANARY" + strings.ToUpper(hex.EncodeToString([]byte(c.dir[len(c.dir)-6:])))
	reply := strings.TrimSuffix(c.as(r).chat(t, "Once upon a time, "+canary+" went home", "--temperature", "0", "--max-tokens", "48"), "\n")
	if len(reply) < 24 {
		t.Fatalf("reply too short: %q", reply)
	}
	needles := append([][]byte{[]byte(canary), []byte(reply)}, seeds(t, c.keyDir)...)
	control, err := memscan.Scan(r.cmd.Process.Pid, []byte(c.allow))
	if err != nil || len(control) == 0 {
		t.Fatalf("memory scan control: %d hits, %v", len(control), err)
	}
	for _, h := range scanUntilClean(t, r.cmd.Process.Pid, needles) {
		t.Errorf("needle %d (0 canary, 1 reply, 2+ key seeds) in router memory at %#x in %s", h.Needle, h.Addr, h.Region)
	}
	if bytes.Contains(r.logs.Bytes(), []byte(canary)) || bytes.Contains(r.logs.Bytes(), []byte(c.devicePub)) {
		t.Error("router logs hold the canary or the device key")
	}
}

// seeds returns every seed of the key directory, raw and in hex.
func seeds(t *testing.T, dir string) [][]byte {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.key"))
	var out [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		_, hexSeed, ok := bytes.Cut(b, []byte("seed: "))
		hexSeed = bytes.TrimSpace(hexSeed)
		raw, err := hex.DecodeString(string(hexSeed))
		if !ok || err != nil {
			t.Fatalf("%s: no seed", f)
		}
		out = append(out, hexSeed, raw)
	}
	if len(out) < 4 {
		t.Fatalf("%d seeds found", len(out)/2)
	}
	return out
}

// TestCertificateRotationDuringStreams: while streams run through the
// router, the router's client certificate and every worker's certificate
// are renewed (new files, SIGHUP); every stream finishes with its sealed
// final chunk, and new requests use the new certificates.
func TestCertificateRotationDuringStreams(t *testing.T) {
	c := newCluster(t, 2)
	r := c.startRouter(t)
	cl := c.sdk(t, r, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	started := make(chan struct{}, 2)
	for range 2 { // MAX_STREAMS_PER_DEVICE
		wg.Go(func() {
			once := false
			res, err := cl.Chat(context.Background(), greedyReq("Once upon a time", 450), func([]byte) error {
				if !once {
					once = true
					started <- struct{}{}
				}
				return nil
			})
			if err == nil && (res.FinishReason != "length" && res.FinishReason != "stop" || res.CompletionTokens == 0) {
				err = fmt.Errorf("stream ended %q after %d tokens", res.FinishReason, res.CompletionTokens)
			}
			errs <- err
		})
	}
	<-started
	c.routerCert, c.routerKey, _ = c.ca.Issue(t, c.dir, "router")
	for _, w := range c.workers {
		c.ca.Issue(t, c.dir, w.name)
		_ = w.cmd.Process.Signal(syscall.SIGHUP)
	}
	_ = r.cmd.Process.Signal(syscall.SIGHUP)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("a stream broke during the rotation: %v", err)
		}
	}
	if err := wantReply(cl, "The cat", 8); err != nil {
		t.Fatalf("after the rotation: %v\nrouter logs:\n%s", err, r.logs.Bytes())
	}
}

// workerMetric reads one series of a worker's /metrics over mutual TLS.
func (c *cluster) workerMetric(t *testing.T, w *proc, series string) string {
	t.Helper()
	body := get(t, c.mtls, w.url+"/metrics")
	for line := range strings.SplitSeq(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			return v
		}
	}
	return ""
}

// TestClientGoneFreesWorker: a client that leaves mid-stream makes the
// router cancel the worker's request, and the worker's stream and slot
// are freed (sotto_active_streams and sotto_busy_slots back to 0).
func TestClientGoneFreesWorker(t *testing.T) {
	c := newClusterWith(t, 1, "SOTTO_METRICS_BATCH=1") // live metrics: the test reads the gauges
	r := c.startRouter(t)
	cl := c.sdk(t, r, nil)
	ctx, cancel := context.WithCancel(context.Background())
	_, err := cl.Chat(ctx, greedyReq("Once upon a time", 450), func([]byte) error {
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled chat: %v", err)
	}
	w := c.workers[0]
	deadline := time.Now().Add(10 * time.Second)
	for c.workerMetric(t, w, "sotto_active_streams") != "0" || c.workerMetric(t, w, "sotto_busy_slots") != "0" {
		if time.Now().After(deadline) {
			t.Fatalf("worker still streaming: active %s, busy %s", c.workerMetric(t, w, "sotto_active_streams"),
				c.workerMetric(t, w, "sotto_busy_slots"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if v := metric(t, r, `sotto_upstream_requests_total{outcome="client_gone",upstream="w1"}`); v != 1 {
		t.Fatalf("router counted %v client_gone", v)
	}
}

// wantReply sends one greedy request and checks its outcome: no error, a
// final chunk that ended by length or stop, and text whose length matches
// a non-zero completion.
func wantReply(cl *client.Client, prompt string, maxTokens int) error {
	var text []byte
	res, err := cl.Chat(context.Background(), greedyReq(prompt, maxTokens), func(p []byte) error {
		text = append(text, p...)
		return nil
	})
	switch {
	case err != nil:
		return err
	case res.FinishReason != "length" && res.FinishReason != "stop":
		return fmt.Errorf("finish %q (%s)", res.FinishReason, res.ErrorCode)
	case res.CompletionTokens == 0 || len(text) == 0:
		return fmt.Errorf("empty reply: %d tokens, %d bytes", res.CompletionTokens, len(text))
	}
	return nil
}
