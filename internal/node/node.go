// Package node assembles one Sotto process from its Plan: the locked
// memory budget, the keys, the model and engine, the API server, the
// listeners (HTTPS with certificate reload, an optional private metrics
// listener), key and allow-list reload, and the drain on shutdown.
// cmd/sotto keeps only flags and wiring; the roles to come reuse it.
//
// Lifecycle: New loads what must exist before listening (budget, keys).
// Run listens, loads the model, serves until its context ends or a
// listener fails, then drains; it owns every goroutine it starts and
// waits for them, and for every HTTP handler, before it returns. Close
// frees the engine, the model and the keys; it must be called once, after
// Run has returned (or instead of Run), never concurrently with it. On an
// error exit the order is always cancel, wait, free.
package node

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sottolabs/sotto/crypto"
	"github.com/sottolabs/sotto/crypto/device"
	enrolment "github.com/sottolabs/sotto/crypto/device/enrol"
	"github.com/sottolabs/sotto/crypto/keys"
	"github.com/sottolabs/sotto/crypto/pow"
	"github.com/sottolabs/sotto/crypto/replay"
	"github.com/sottolabs/sotto/internal/locked"
	"github.com/sottolabs/sotto/llama"
	"github.com/sottolabs/sotto/server"
	"github.com/sottolabs/sotto/server/clientip"
	"github.com/sottolabs/sotto/server/config"
	"github.com/sottolabs/sotto/server/metrics"
	"github.com/sottolabs/sotto/server/ratelimit"
	"github.com/sottolabs/sotto/server/router"
	"github.com/sottolabs/sotto/server/tlsreload"
)

// The llama engine is the server's engine.
var _ server.Engine = (*llama.Engine)(nil)

// Node is one running process: its components and listeners.
type Node struct {
	plan      Plan
	log       *slog.Logger
	budget    *locked.Budget
	keys      *keys.Store
	allowList *device.AllowList // nil with the open policy
	model     *llama.Model
	engine    *llama.Engine
	metrics   *metrics.Metrics
	api       *server.Server          // nil for a router
	router    *router.Router          // router role only
	certs     *tlsreload.CertReloader // nil without TLS
	peerCAs   *tlsreload.PoolReloader // worker and router: the CA of the other side
	peerCert  *tlsreload.CertReloader // router: its client certificate
	redis     *redis.Client           // nil without REDIS_URL
	enrol     *enrolment.Service      // attested policies only

	redisReady func(context.Context) error // router readiness of Redis; nil without REDIS_URL
}

// New loads what the process needs before it can listen: the locked
// memory budget, the keys, the device policy, and the API server (which
// answers health and the key configuration, and refuses chats until the
// model is loaded in Run).
func New(p Plan, log *slog.Logger) (*Node, error) {
	limit, err := locked.RaiseLimit()
	if err != nil {
		return nil, fmt.Errorf("node: locked memory limit: %w", err)
	}
	if p.Model.MLock {
		if err := locked.CheckWeightsLockable(limit); err != nil {
			return nil, fmt.Errorf("node: %w", err)
		}
	}
	n := &Node{plan: p, log: log, budget: locked.NewBudget(limit), metrics: metrics.New()}
	n.metrics.SetLockedBudget(n.budget)
	if limit >= 0 {
		log.Info("locked memory budget", "bytes", limit)
	}
	if p.Role == config.RoleRouter {
		err = n.buildRouter()
	} else {
		err = n.buildServer()
	}
	if err != nil {
		n.Close()
		return nil, err
	}
	n.metrics.SetBatch(p.MetricsBatch)
	return n, nil
}

// buildServer opens the keys and builds the API server (single node and
// worker).
func (n *Node) buildServer() (err error) {
	if err = n.openKeys(); err != nil {
		return err
	}
	n.api, err = n.newServer()
	return err
}

// Close frees the engine, the model and the keys. See the package doc for
// when it may be called.
func (n *Node) Close() {
	if n.engine != nil {
		n.engine.Close()
		n.engine = nil
	}
	if n.model != nil {
		n.model.Close()
		n.model = nil
	}
	if n.keys != nil {
		n.keys.Close()
		n.keys = nil
	}
	if n.redis != nil {
		n.redis.Close()
		n.redis = nil
	}
}

func (n *Node) openKeys() error {
	dir := n.plan.Keys.Dir
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) && n.plan.Keys.CreateIfMissing {
		n.log.Warn("development: creating a key directory", "dir", dir)
		if err := keys.Init(dir, []crypto.Suite{crypto.SuiteX25519, crypto.SuiteXWing}, time.Now(), n.budget); err != nil {
			return fmt.Errorf("node: %w", err)
		}
	}
	store, err := keys.Open(dir, n.budget)
	if err != nil {
		return fmt.Errorf("node: %w", err)
	}
	n.keys = store
	return nil
}

// loadEngine loads the model, starts the engine and attaches it to the
// API server, which then accepts chats.
func (n *Node) loadEngine() error {
	start := time.Now()
	mp := n.plan.Model
	mp.Budget = n.budget
	path, closeDemo, err := n.modelPath(&mp)
	if err != nil {
		return err
	}
	defer closeDemo() // llama.cpp keeps its own mapping
	if n.plan.ModelSHA256 != "" {
		var release func()
		if path, release, err = pinnedModel(path, n.plan.ModelSHA256); err != nil {
			return err
		}
		defer release()
	}
	m, err := llama.LoadModel(path, mp)
	if err != nil {
		return fmt.Errorf("node: %w", err)
	}
	n.model = m
	ec := n.plan.Engine
	ec.Budget = n.budget
	e, err := llama.NewEngine(m, ec)
	if err != nil {
		return fmt.Errorf("node: %w", err)
	}
	n.engine = e
	info := m.Info()
	n.log.Info("model loaded", "arch", info.Arch, "params", info.Params, "slots", ec.Slots, "ms", time.Since(start).Milliseconds())
	n.api.Attach(e)
	return nil
}

// newServer assembles the API server; the engine is attached later.
func (n *Node) newServer() (*server.Server, error) {
	policy, err := n.devicePolicy()
	if err != nil {
		return nil, err
	}
	p := n.plan
	issuer, err := n.powIssuer(p.Server.PoWMode, nil)
	if err != nil {
		return nil, err
	}
	resolver := clientip.New(p.Proxies, p.UnixListener)
	return server.New(p.Server, server.Deps{
		Keys:          n.keys,
		Replay:        replay.NewMemory(p.ReplaySize),
		Devices:       policy,
		PoW:           issuer,
		IPLimiter:     memoryLimiter(p.IPLimit),
		DeviceLimiter: memoryLimiter(p.DeviceLimit),
		Streams:       ratelimit.NewConcurrency(p.StreamsPerID, maxLimiterKeys),
		Budget:        n.budget,
		Metrics:       n.metrics,
		Log:           n.log,
		ClientIP:      resolver.ClientIP,
		Enrolment:     n.enrol,
	})
}

// memoryLimiter is lp in memory; the zero LimitPlan is no limit.
func memoryLimiter(lp LimitPlan) ratelimit.Limiter {
	if lp.PerMinute == 0 {
		return ratelimit.Off{}
	}
	return ratelimit.NewMemory(lp.PerMinute, lp.Burst, maxLimiterKeys)
}

// powIssuer returns the proof-of-work issuer for mode, or nil when proof
// of work is off. Its secret is secret (shared by routers), or a fresh
// per-process one when secret is nil.
func (n *Node) powIssuer(mode string, secret []byte) (*pow.Issuer, error) {
	if mode == server.PoWOff {
		return nil, nil
	}
	if secret == nil {
		secret = make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return nil, fmt.Errorf("node: %w", err)
		}
	}
	issuer, err := pow.NewIssuer(secret, n.plan.PoWBits, powChallengeTTL)
	if err != nil {
		return nil, fmt.Errorf("node: %w", err)
	}
	issuer.Seal(n.budget) // the secret is wiped from the heap, kept encrypted
	return issuer, nil
}
