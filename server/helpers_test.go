//go:build cgo

// These tests drive the real llama.cpp engine (cgo).

package server_test

import (
	"bytes"
	"cmp"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sottolabs/sotto/crypto"
	"github.com/sottolabs/sotto/crypto/device"
	"github.com/sottolabs/sotto/crypto/device/attest/attesttest"
	"github.com/sottolabs/sotto/crypto/device/enrol"
	"github.com/sottolabs/sotto/crypto/keys"
	"github.com/sottolabs/sotto/crypto/pow"
	"github.com/sottolabs/sotto/crypto/replay"
	"github.com/sottolabs/sotto/internal/locked"
	"github.com/sottolabs/sotto/internal/testenv"
	"github.com/sottolabs/sotto/llama"
	"github.com/sottolabs/sotto/server"
	"github.com/sottolabs/sotto/server/clientip"
	"github.com/sottolabs/sotto/server/metrics"
	"github.com/sottolabs/sotto/server/ratelimit"
)

// canary is put in every prompt the tests send: it must never show up in
// logs, problem bodies or metrics.
const canary = "canary-Qx7wZ3pL"

// The model is loaded once per process: loading is cheap, but every
// engine of every test shares its weights.
var (
	modelOnce sync.Once
	model     *llama.Model
	modelErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if model != nil {
		model.Close()
	}
	os.Exit(code)
}

// loadModel returns stories260K. budget (charged for the chat template's
// locked scratch) matters only to the first caller in a process, which is
// the only test in the unprivileged child process.
func loadModel(t testing.TB, budget *locked.Budget) *llama.Model {
	t.Helper()
	path := testenv.Model(t, "stories260K.gguf")
	modelOnce.Do(func() { model, modelErr = llama.LoadModel(path, llama.ModelParams{Budget: budget}) })
	if modelErr != nil {
		t.Fatal(modelErr)
	}
	return model
}

// config sizes a harness; zero fields take small, fast defaults (the
// SOTTO-like configuration of the issue: 4 slots of 256 tokens).
type config struct {
	slots, queueDepth int
	suites            []crypto.Suite
	ipPerMinute       int
	ipBurst           int
	devPerMinute      int
	devBurst          int
	streamsPerDevice  int
	replayCapacity    int
	coalesce          time.Duration
	buffered          bool
	streamBuffer      int // locked pending text per stream (default 64 KiB)
	devices           int
	powMode           string
	powBits           int
	budget            *locked.Budget // every locked allocation; nil: unlimited
	clock             *clock         // nil: time.Now
	wrap              func(http.Handler) http.Handler
	notReady          bool
	requestTTL        time.Duration // 0: replay.DefaultWindow
	writeTimeout      time.Duration // 0: the server's default
	padQuantum        int           // 0: crypto.DefaultPadQuantum
	inflightBodies    int64         // 0: the server's default
	sendBuffer        int           // SO_SNDBUF of accepted connections; 0: the kernel's autotuning
	prefixCacheBytes  int64         // the engine's prefix cache; 0: off (and requests' cache member ignored)
	prefixMaxTTL      time.Duration // 0: the engine's default
	shapeFrame        time.Duration // shaped streams' frame interval; 0: unshaped
	contextPerSlot    int           // 0: 256
	tls               bool          // serve HTTPS (httptest's certificate)
	prefixDevices     int           // the engine's device shares; 0: its default
	enrolment         bool          // policy attested, with the enrolment endpoints (enroll_test.go)
}

// harness is one server over loopback with its own engine, keys, devices,
// limiters, metrics and log buffer.
type harness struct {
	t       testing.TB
	cfg     config
	engine  *llama.Engine
	store   *keys.Store
	keyDir  string
	budget  *locked.Budget
	metrics *metrics.Metrics
	logs    *testenv.SyncBuffer
	issuer  *pow.Issuer
	srv     *server.Server
	ts      *httptest.Server
	devices []*testDevice
	// untrusted is a well-formed device key that is not enrolled.
	untrusted *testDevice
	// secrets are strings that must never reach the log: header values
	// sent, reply texts received (checked at cleanup).
	secretsMu sync.Mutex
	secrets   []string
	// enrolment (cfg.enrolment): the service and the test App Attest CA.
	enrol   *enrol.Service
	appleCA *attesttest.AppleCA
}

func newHarness(t testing.TB, cfg config) *harness {
	t.Helper()
	cfg = withDefaults(cfg)
	h := &harness{t: t, cfg: cfg, budget: cfg.budget, logs: &testenv.SyncBuffer{}}
	if h.budget == nil {
		h.budget = locked.NewBudget(locked.Unlimited)
	}
	m := loadModel(t, h.budget)
	engineQueue := cfg.queueDepth
	if engineQueue == 0 {
		engineQueue = -1 // the engine's 0 means its default of 16
	}
	e, err := llama.NewEngine(m, llama.Config{
		Slots: cfg.slots, ContextPerSlot: cmp.Or(cfg.contextPerSlot, 256), Threads: 1,
		QueueDepth: engineQueue, MaxTokensCap: 256, Budget: h.budget,
		PrefixCacheBytes: cfg.prefixCacheBytes, PrefixCacheMaxTTL: cfg.prefixMaxTTL,
		PrefixCacheDevices: cfg.prefixDevices,
	})
	if err != nil {
		t.Fatal(err)
	}
	h.engine = e

	h.keyDir = filepath.Join(t.TempDir(), "keys")
	if err := keys.Init(h.keyDir, cfg.suites, h.now(), h.budget); err != nil {
		t.Fatal(err)
	}
	h.store, err = keys.Open(h.keyDir, h.budget)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.store.Close)

	allowPath := filepath.Join(t.TempDir(), "allow")
	for range cfg.devices {
		d := h.newDevice()
		if err := device.Allow(allowPath, d.key); err != nil {
			t.Fatal(err)
		}
		h.devices = append(h.devices, d)
	}
	h.untrusted = h.newDevice()
	allow, err := device.LoadAllowList(allowPath)
	if err != nil {
		t.Fatal(err)
	}

	h.metrics = metrics.New()
	h.metrics.SetLockedBudget(h.budget)
	issuer, err := pow.NewIssuer(bytes.Repeat([]byte{7}, 32), cfg.powBits, 2*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	h.issuer = issuer
	var now func() time.Time
	if cfg.clock != nil {
		now = cfg.clock.Now
	}
	log := slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var policy device.Policy = allow
	if cfg.enrolment {
		policy = h.newEnrolment(now)
	}
	h.srv, err = server.New(server.Options{
		RequestTTL:          cmp.Or(cfg.requestTTL, replay.DefaultWindow),
		MaxBodyBytes:        int64(crypto.MaxBodySize(crypto.SuiteXWing)),
		QueueDepth:          cfg.queueDepth,
		PadQuantum:          cmp.Or(cfg.padQuantum, crypto.DefaultPadQuantum),
		WriteTimeout:        cfg.writeTimeout,
		InflightBodyBytes:   cfg.inflightBodies,
		DefaultMaxTokens:    32,
		DefaultSampling:     llama.Sampling{Temperature: 0.8, TopK: 40, TopP: 0.95, MinP: 0.05, RepeatPenalty: 1.0},
		RequestLimits:       crypto.Limits{MaxTokens: 256},
		StreamBufferBytes:   cmp.Or(cfg.streamBuffer, 64<<10),
		Coalesce:            cfg.coalesce,
		Buffered:            cfg.buffered,
		ShapeFrame:          cfg.shapeFrame,
		PoWMode:             cfg.powMode,
		PoWAutoThreshold:    0.8,
		MetricsOnMainListen: true,
		ConversationCache:   cfg.prefixCacheBytes > 0,
	}, server.Deps{
		Engine:        e,
		Keys:          h.store,
		Replay:        replay.NewMemoryClock(cfg.replayCapacity, now),
		Devices:       policy,
		PoW:           issuer,
		IPLimiter:     ratelimit.NewMemory(cfg.ipPerMinute, cfg.ipBurst, 10_000),
		DeviceLimiter: ratelimit.NewMemory(cfg.devPerMinute, cfg.devBurst, 10_000),
		Streams:       ratelimit.NewConcurrency(cfg.streamsPerDevice, 10_000),
		Budget:        h.budget,
		Metrics:       h.metrics,
		Log:           log,
		ClientIP:      clientip.New(nil, false).ClientIP,
		Now:           now,
		Enrolment:     h.enrol,
	})
	if err != nil {
		t.Fatal(err)
	}
	h.srv.SetReady(!cfg.notReady)
	var handler http.Handler = h.srv.Handler()
	if cfg.wrap != nil {
		handler = cfg.wrap(handler)
	}
	h.ts = httptest.NewUnstartedServer(handler)
	if cfg.sendBuffer > 0 {
		h.ts.Listener = sendBufferListener{h.ts.Listener, cfg.sendBuffer}
	}
	if cfg.tls {
		h.ts.StartTLS()
	} else {
		h.ts.Start()
	}
	t.Cleanup(h.ts.Close)
	// Before ts.Close, which waits for every handler: closing the engine
	// ends any generation a failed test left waiting.
	t.Cleanup(func() { e.Close() })
	// Registered last, so it runs first: every test's log is scanned.
	t.Cleanup(h.checkLogPrivacy)
	return h
}

func withDefaults(c config) config {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.slots, 4)
	def(&c.ipPerMinute, 6000)
	def(&c.ipBurst, 1000)
	def(&c.devPerMinute, 6000)
	def(&c.devBurst, 1000)
	def(&c.streamsPerDevice, 8)
	def(&c.devices, 1)
	def(&c.replayCapacity, 100_000)
	def(&c.powBits, 8)
	if c.powMode == "" {
		c.powMode = server.PoWOff
	}
	if c.suites == nil {
		c.suites = []crypto.Suite{crypto.SuiteX25519, crypto.SuiteXWing}
	}
	return c
}

func (h *harness) now() time.Time {
	if h.cfg.clock != nil {
		return h.cfg.clock.Now()
	}
	return time.Now()
}

func (h *harness) url(path string) string { return h.ts.URL + path }

// secret records a value that must never appear in the server's log.
func (h *harness) secret(s string) {
	if s == "" {
		return
	}
	h.secretsMu.Lock()
	h.secrets = append(h.secrets, s)
	h.secretsMu.Unlock()
}

func (h *harness) checkLogPrivacy() {
	logs := h.logs.String()
	if strings.Contains(logs, canary) {
		h.t.Errorf("server log contains the prompt canary")
	}
	h.secretsMu.Lock()
	defer h.secretsMu.Unlock()
	for _, s := range h.secrets {
		if strings.Contains(logs, s) {
			h.t.Errorf("server log contains a secret value (%d bytes)", len(s))
		}
	}
}

// testDevice is a device key pair; the private key lives in locked memory.
type testDevice struct {
	priv   ed25519.PrivateKey
	key    device.Key
	header string // the Sotto-Device value
}

func (h *harness) newDevice() *testDevice {
	h.t.Helper()
	buf, err := device.GenerateEd25519(rand.Reader, h.budget)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(buf.Destroy)
	priv := ed25519.PrivateKey(buf.Bytes())
	k, err := device.PublicKey(priv)
	if err != nil {
		h.t.Fatal(err)
	}
	return &testDevice{priv: priv, key: k, header: k.String()}
}

// clock is a settable clock for server.Deps.Now and the keys API.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t.Truncate(time.Second)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// expected runs the engine directly, greedy, on one user message: the
// text the server must stream for the same request.
type expectation struct {
	text string
	res  llama.Result
}

var (
	expectMu    sync.Mutex
	expectCache = map[string]expectation{}
)

func (h *harness) expected(prompt string, maxTokens int) expectation {
	h.t.Helper()
	key := prompt + "\x00" + strconv.Itoa(maxTokens)
	expectMu.Lock()
	defer expectMu.Unlock()
	if e, ok := expectCache[key]; ok {
		return e
	}
	var text []byte
	req := &llama.Request{
		Messages:  []llama.Message{{Role: llama.RoleUser, Content: []byte(prompt)}},
		MaxTokens: maxTokens,
	}
	res, err := h.engine.Generate(context.Background(), req, func(p []byte) error {
		text = append(text, p...)
		return nil
	})
	if err != nil {
		h.t.Fatalf("engine: %v", err)
	}
	e := expectation{string(text), res}
	expectCache[key] = e
	return e
}

// waitFor polls cond until it holds or the safety-net deadline passes.
func waitFor(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// staller holds one engine slot with a generation whose sink waits for
// the test. The engine's scheduler goroutine calls every sink, so while it
// waits in this one no slot advances and queued requests stay queued: the
// engine is "full of slow generations" for exactly as long as a test wants.
type staller struct {
	step    chan struct{}
	release chan struct{}
	entered chan struct{}
	done    chan error
	once    sync.Once
}

func stall(t testing.TB, e *llama.Engine) *staller {
	t.Helper()
	s := &staller{step: make(chan struct{}), release: make(chan struct{}), entered: make(chan struct{}), done: make(chan error, 1)}
	var first sync.Once
	go func() {
		req := &llama.Request{Prompt: []byte("Once upon a time"), MaxTokens: 200, IgnoreEOS: true}
		_, err := e.Generate(context.Background(), req, func([]byte) error {
			first.Do(func() { close(s.entered) })
			select {
			case <-s.step:
			case <-s.release:
			}
			return nil
		})
		s.done <- err
	}()
	select {
	case <-s.entered:
	case err := <-s.done:
		t.Fatalf("staller ended early: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("staller never started")
	}
	t.Cleanup(func() { s.free(); <-s.done })
	return s
}

// free lets the engine run at full speed again.
func (s *staller) free() { s.once.Do(func() { close(s.release) }) }
