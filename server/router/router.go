package router

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/sony/gobreaker/v2"

	"github.com/sottolabs/sotto/crypto/device"
	"github.com/sottolabs/sotto/crypto/pow"
	"github.com/sottolabs/sotto/crypto/replay"
	"github.com/sottolabs/sotto/crypto/wire"
	"github.com/sottolabs/sotto/server/cors"
	"github.com/sottolabs/sotto/server/intake"
	"github.com/sottolabs/sotto/server/metrics"
	"github.com/sottolabs/sotto/server/problem"
	"github.com/sottolabs/sotto/server/ratelimit"
)

// PoW modes, as in the server.
const (
	PoWOff    = "off"
	PoWAlways = "always"
	PoWAuto   = "auto"
)

// Config holds the router's workers, timeouts and limits.
type Config struct {
	Upstreams        []string          // worker base URLs, https://host:port
	Transport        http.RoundTripper // mutual TLS, HTTP/2, with the connect timeout
	HealthInterval   time.Duration
	BreakerThreshold int
	BreakerReset     time.Duration
	FirstByteTimeout time.Duration // until the worker's response headers
	IdleTimeout      time.Duration // between two reads of the worker's stream
	TotalTimeout     time.Duration // the whole request
	RequestTTL       time.Duration
	MaxBodyBytes     int64
	PoWMode          string
	PoWAutoThreshold float64
	MetricsOnMain    bool
	// InflightBodyBytes caps the body bytes all clients hold before
	// their checks, as on a server (SOTTO_INFLIGHT_BODY_BYTES); 0: the
	// default.
	InflightBodyBytes int64
	CORSOrigins       []string // SOTTO_CORS_ORIGINS (server/cors); empty: no CORS
}

// Deps are the shared components. All are required except PoW (unless
// proof of work is on) and Now.
type Deps struct {
	Replay        replay.Register // the router's own rid claims (Redis when routers share)
	Devices       device.Policy
	PoW           *pow.Issuer
	IPLimiter     ratelimit.Limiter
	DeviceLimiter ratelimit.Limiter
	Streams       *ratelimit.Concurrency
	Keyer         *ratelimit.SealedKeyer // limiter keys; shared by routers that share limiters
	Metrics       *metrics.Metrics
	Log           *slog.Logger
	ClientIP      func(*http.Request) (netip.Addr, error)
	Now           func() time.Time
	// SharedState checks the state routers share (Redis): reachable and
	// safe to use. Nil when the state is in memory. While it fails the
	// router is not ready (see watchShared).
	SharedState func(context.Context) error
}

// Router is the blind edge. See the package doc for its lifecycle.
type Router struct {
	cfg      Config
	d        Deps
	log      *slog.Logger
	pool     *pool
	client   *http.Client // health checks and key configuration
	keys     atomic.Pointer[keyDoc]
	metrics  *upstreamMetrics
	draining atomic.Bool
	sharedOK atomic.Bool // the last SharedState check passed
	echo     *echo.Echo
	bodies   *intake.BodyGate
}

// New builds a Router over cfg.Upstreams.
func New(cfg Config, d Deps) (*Router, error) {
	if len(cfg.Upstreams) == 0 || cfg.Transport == nil || d.Replay == nil || d.Devices == nil ||
		d.IPLimiter == nil || d.DeviceLimiter == nil || d.Streams == nil || d.Keyer == nil ||
		d.Metrics == nil || d.Log == nil || d.ClientIP == nil {
		return nil, errors.New("router: missing configuration or dependency")
	}
	if cfg.PoWMode != PoWOff && d.PoW == nil {
		return nil, errors.New("router: proof of work enabled without an issuer")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	r := &Router{cfg: cfg, d: d, log: d.Log, pool: &pool{},
		bodies: intake.NewBodyGate(cmp.Or(cfg.InflightBodyBytes, intake.DefaultInflightBodyBytes))}
	r.client = &http.Client{Transport: cfg.Transport}
	m, err := newUpstreamMetrics(d.Metrics.Registry())
	if err != nil {
		return nil, fmt.Errorf("router: %w", err)
	}
	r.metrics = m
	if reg, ok := d.Replay.(metrics.ReplayRegister); ok { // in memory: a fill to watch (Redis has none)
		d.Metrics.SetReplayRegister(reg)
	}
	for i, url := range cfg.Upstreams {
		u := newUpstream(fmt.Sprintf("w%d", i+1), url, cfg.BreakerThreshold, cfg.BreakerReset, r.onBreaker)
		r.pool.ups = append(r.pool.ups, u)
		m.init(u)
	}
	r.echo = r.routes()
	return r, nil
}

// Handler returns the HTTP handler of the public API.
func (r *Router) Handler() http.Handler { return r.echo }

// Upstreams returns the workers, in configuration order.
func (r *Router) Upstreams() []*Upstream { return r.pool.ups }

// SetDraining stops (true) or resumes accepting chats; readiness follows.
func (r *Router) SetDraining(on bool) { r.draining.Store(on) }

func (r *Router) onBreaker(u *Upstream, to gobreaker.State) {
	r.metrics.setBreaker(u, to)
	r.log.Warn("circuit breaker", "upstream", u.Name, "state", to.String())
}

func (r *Router) routes() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = func(err error, c echo.Context) {
		var he *echo.HTTPError
		if !c.Response().Committed && errors.As(err, &he) && he.Code == http.StatusNotFound {
			c.Response().WriteHeader(http.StatusNotFound)
			return
		}
		if !c.Response().Committed {
			problem.Write(c.Response(), problem.New(problem.Internal))
		}
	}
	cors.Routes(e, cors.New(r.cfg.CORSOrigins), r.handleChat, r.handlePubkey)
	e.POST(wire.PathEnrollChallenge, r.handleEnroll) // relayed to a worker (enroll.go)
	e.POST(wire.PathEnroll, r.handleEnroll)
	e.GET(wire.PathHealthLive, func(c echo.Context) error {
		c.Response().Header().Set("Cache-Control", "no-store")
		return c.Blob(http.StatusOK, wire.MediaTypeJSON, []byte(`{"status":"live"}`))
	})
	e.GET(wire.PathHealthReady, r.handleReady)
	e.GET(wire.PathHealth, r.handleReady)
	if r.cfg.MetricsOnMain {
		e.GET(wire.PathMetrics, echo.WrapHandler(r.d.Metrics.Handler()))
	}
	return e
}

// ready: not draining, a key configuration to serve, a worker to use,
// and the shared state (Redis) answering when there is one.
func (r *Router) ready() bool {
	return !r.draining.Load() && r.keys.Load() != nil && r.pool.anyAvailable() && r.sharedReady()
}

func (r *Router) handleReady(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	if !r.ready() {
		problem.Write(c.Response(), problem.OverloadedAfter(notReadyRetry))
		return nil
	}
	return c.Blob(http.StatusOK, wire.MediaTypeJSON, []byte(`{"status":"ready"}`))
}

// handlePubkey serves the workers' signed key configuration unchanged.
func (r *Router) handlePubkey(c echo.Context) error {
	d := r.keys.Load()
	if d == nil {
		problem.Write(c.Response(), problem.OverloadedAfter(notReadyRetry))
		return nil
	}
	c.Response().Header().Set("Cache-Control", "public, max-age=300")
	return c.Blob(http.StatusOK, wire.MediaTypeKeyConfig, d.body)
}

// notReadyRetry is the Retry-After while no worker or key configuration
// is available.
const notReadyRetry = 5 * time.Second
