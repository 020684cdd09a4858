package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/sottolabs/sotto/crypto"
	"github.com/sottolabs/sotto/crypto/device"
	"github.com/sottolabs/sotto/crypto/keys"
	"github.com/sottolabs/sotto/crypto/pow"
	"github.com/sottolabs/sotto/crypto/replay"
	"github.com/sottolabs/sotto/internal/harden"
	"github.com/sottolabs/sotto/internal/locked"
	"github.com/sottolabs/sotto/llama"
	"github.com/sottolabs/sotto/server"
	"github.com/sottolabs/sotto/server/clientip"
	"github.com/sottolabs/sotto/server/config"
	"github.com/sottolabs/sotto/server/metrics"
	"github.com/sottolabs/sotto/server/ratelimit"
	"github.com/sottolabs/sotto/server/tlsreload"
)

// Bounds on the in-memory limiter tables: past them new keys are refused
// (fail closed) rather than growing without limit under a flood.
const (
	maxLimiterKeys    = 200_000
	streamBufferBytes = 64 << 10
	powChallengeTTL   = 2 * time.Minute
)

var serveEnvFile string

var serveCmd = &cobra.Command{
	Use:   "serve",
	Short: "Serve the end-to-end encrypted chat API",
	Long: `Serve POST /api/chat, GET /api/pubkey, /health and /metrics.

Configuration comes from the environment (and a .env file); see
docs/operations.md. The process re-executes itself once with glibc malloc
tunables that wipe freed memory, disables core dumps, and keeps every
plaintext in locked memory.`,
	Args: cobra.NoArgs,
	RunE: func(cmd *cobra.Command, _ []string) error { return serve(cmd.Context()) },
}

func init() {
	serveCmd.Flags().StringVar(&serveEnvFile, "env-file", ".env", "dotenv file read before the environment (the environment wins)")
	rootCmd.AddCommand(serveCmd)
}

func serve(ctx context.Context) error {
	if err := harden.ReexecWithMallocTunables(); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if err := harden.Apply(); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	cfg, err := config.FromProcess(serveEnvFile)
	if err != nil {
		return err
	}
	log := newLogger(cfg)
	slog.SetDefault(log) // packages that log through slog's default (keys, device) share format and level
	// llama.cpp's own log is metadata (tensor lists, timings), never
	// content, but it is noisy: it shows only at debug level, else warnings.
	llama.SetLogLevel(max(cfg.LogLevel, slog.LevelWarn))
	if cfg.LogLevel <= slog.LevelDebug {
		llama.SetLogLevel(slog.LevelDebug)
	}
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	n, err := newNode(cfg, log)
	if err != nil {
		return err
	}
	defer n.close()
	return n.run(ctx)
}

func newLogger(cfg config.Config) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == config.LogText {
		return slog.New(slog.NewTextHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, opts))
}

// node is one running server process: its components and listeners.
type node struct {
	cfg       config.Config
	log       *slog.Logger
	budget    *locked.Budget
	keys      *keys.Store
	allowList *device.AllowList
	model     *llama.Model
	engine    *llama.Engine
	metrics   *metrics.Metrics
	front     *frontHandler
	certs     *tlsreload.CertReloader // nil without TLS
}

// newNode loads what the server needs before it can listen: the locked
// memory budget and the keys. The model loads after the listener is up, so
// /health/ready answers 503 meanwhile.
func newNode(cfg config.Config, log *slog.Logger) (*node, error) {
	limit, err := locked.RaiseLimit()
	if err != nil {
		return nil, fmt.Errorf("serve: locked memory limit: %w", err)
	}
	n := &node{cfg: cfg, log: log, budget: locked.NewBudget(limit), metrics: metrics.New()}
	n.metrics.SetLockedBudget(n.budget)
	if limit >= 0 {
		log.Info("locked memory budget", "bytes", limit)
	}
	if err := n.openKeys(); err != nil {
		return nil, err
	}
	n.front = newFrontHandler(n.metrics)
	return n, nil
}

func (n *node) openKeys() error {
	dir := n.cfg.KeyDir
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) && n.cfg.Environment == config.Development {
		n.log.Warn("development: creating a key directory", "dir", dir)
		if err := keys.Init(dir, []crypto.Suite{crypto.SuiteX25519, crypto.SuiteXWing}, time.Now(), n.budget); err != nil {
			return fmt.Errorf("serve: %w", err)
		}
	}
	store, err := keys.Open(dir, n.budget)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	n.keys = store
	return nil
}

// loadEngine loads the model and starts the engine.
func (n *node) loadEngine() error {
	start := time.Now()
	m, err := llama.LoadModel(n.cfg.Model, llama.ModelParams{MLock: n.cfg.MlockWeights, Budget: n.budget})
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	n.model = m
	e, err := llama.NewEngine(m, llama.Config{
		Slots:          n.cfg.Slots,
		ContextPerSlot: n.cfg.Context,
		Threads:        n.cfg.Threads,
		QueueDepth:     n.cfg.QueueDepth,
		MaxTokensCap:   n.cfg.MaxTokensCap,
		Budget:         n.budget,
	})
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	n.engine = e
	info := m.Info()
	n.log.Info("model loaded", "arch", info.Arch, "params", info.Params, "slots", n.cfg.Slots, "ms", time.Since(start).Milliseconds())
	return nil
}

func (n *node) devicePolicy() (device.Policy, error) {
	if n.cfg.DevicePolicy == config.Open {
		return device.NewOpenPolicy(), nil
	}
	al, err := device.LoadAllowList(n.cfg.AllowList)
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	n.allowList = al
	return al, nil
}

// newServer assembles the API server around the loaded engine.
func (n *node) newServer() (*server.Server, error) {
	policy, err := n.devicePolicy()
	if err != nil {
		return nil, err
	}
	var issuer *pow.Issuer
	if n.cfg.PoWMode != config.PoWOff {
		secret := make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return nil, err
		}
		if issuer, err = pow.NewIssuer(secret, n.cfg.PoWBits, powChallengeTTL); err != nil {
			return nil, fmt.Errorf("serve: %w", err)
		}
	}
	resolver := clientip.New(n.cfg.TrustedProxies, n.cfg.Listen.Network == "unix")
	return server.New(n.serverOptions(), server.Deps{
		Engine:        n.engine,
		Keys:          n.keys,
		Replay:        replay.NewMemory(n.cfg.ReplayRegisterSize),
		Devices:       policy,
		PoW:           issuer,
		IPLimiter:     ratelimit.NewMemory(n.cfg.IPRateLimitPerMinute, n.cfg.IPRateLimitBurst, maxLimiterKeys),
		DeviceLimiter: ratelimit.NewMemory(n.cfg.RateLimitPerMinute, n.cfg.RateLimitBurst, maxLimiterKeys),
		Streams:       ratelimit.NewConcurrency(n.cfg.MaxStreamsPerDevice, maxLimiterKeys),
		Budget:        n.budget,
		Metrics:       n.metrics,
		Log:           n.log,
		ClientIP:      resolver.ClientIP,
	})
}

func (n *node) serverOptions() server.Options {
	return server.Options{
		RequestTTL:          n.cfg.RequestTTL(),
		MaxBodyBytes:        int64(n.cfg.MaxBodyBytes),
		QueueDepth:          n.cfg.QueueDepth,
		PadQuantum:          n.cfg.PadQuantum,
		DefaultMaxTokens:    n.cfg.DefaultMaxTokens,
		DefaultSampling:     llama.Sampling{Temperature: 0.8, TopK: 40, TopP: 0.95, MinP: 0.05, RepeatPenalty: 1.0},
		RequestLimits:       crypto.Limits{MaxTokens: n.cfg.MaxTokensCap},
		StreamBufferBytes:   streamBufferBytes,
		SealerScratchBytes:  2 * crypto.MaxDeltaBytes,
		PoWMode:             string(n.cfg.PoWMode),
		PoWAutoThreshold:    n.cfg.PoWAutoThreshold,
		MetricsOnMainListen: !n.cfg.MetricsListen.IsSet(),
	}
}

func (n *node) close() {
	if n.engine != nil {
		n.engine.Close()
	}
	if n.model != nil {
		n.model.Close()
	}
	if n.keys != nil {
		n.keys.Close()
	}
}
