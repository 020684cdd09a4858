// Package server is Sotto's HTTP edge: POST /api/chat (the sealed request
// checked in the order of protocol section 4, then the sealed SSE stream),
// GET /api/pubkey (the signed key configuration), health probes and
// Prometheus metrics. Errors before a stream are RFC 9457 problems
// (server/problem) and never echo request content; after a stream starts
// they travel only inside its sealed final chunk.
//
// A Server is built once with New and serves concurrently; the engine it
// drives owns all inference state.
package server

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/sottolabs/sotto/crypto"
	"github.com/sottolabs/sotto/crypto/device"
	"github.com/sottolabs/sotto/crypto/device/enrol"
	"github.com/sottolabs/sotto/crypto/keys"
	"github.com/sottolabs/sotto/crypto/pow"
	"github.com/sottolabs/sotto/crypto/replay"
	"github.com/sottolabs/sotto/crypto/wire"
	"github.com/sottolabs/sotto/internal/engine"
	"github.com/sottolabs/sotto/internal/locked"
	"github.com/sottolabs/sotto/server/cors"
	"github.com/sottolabs/sotto/server/intake"
	"github.com/sottolabs/sotto/server/metrics"
	"github.com/sottolabs/sotto/server/problem"
	"github.com/sottolabs/sotto/server/ratelimit"
)

// Engine is what the server needs of the inference engine (llama.Engine,
// asserted where the process is assembled).
type Engine interface {
	Generate(ctx context.Context, req *engine.Request, sink engine.Sink) (engine.Result, error)
	// Prepare checks and tokenizes a request before the stream starts
	// (see engine.Prepared); Generate reuses the result.
	Prepare(req *engine.Request) (*engine.Prepared, error)
	Stats() engine.Stats
}

// KeyStore is what the server needs of the key directory.
type KeyStore interface {
	Lookup(keyID uint8, suite crypto.Suite, now time.Time) (*keys.Key, error)
	Document(now time.Time) ([]byte, error)
}

var _ KeyStore = (*keys.Store)(nil)

// maxTokenAccounts bounds the per-device token accounts.
const maxTokenAccounts = 100_000

// PoW modes (POW_MODE).
const (
	PoWOff    = "off"
	PoWAlways = "always"
	PoWAuto   = "auto"
)

// Options are the server's limits and defaults.
type Options struct {
	RequestTTL          time.Duration
	MaxBodyBytes        int64
	QueueDepth          int
	PadQuantum          int
	DefaultMaxTokens    int
	DefaultSampling     engine.Sampling
	RequestLimits       crypto.Limits
	StreamBufferBytes   int           // locked text waiting for a slow client, per stream
	Coalesce            time.Duration // 0: a chunk per token; else a chunk per window
	Buffered            bool          // one chunk with the whole reply at the end
	ShapeFrame          time.Duration // shaped streams' frame interval (SOTTO_STREAM_SHAPE constant); 0: none
	PoWMode             string
	PoWAutoThreshold    float64 // share of engine capacity in use that turns PoW on
	MetricsOnMainListen bool
	ServeCapacity       bool          // GET /api/capacity for a router (worker role)
	WriteTimeout        time.Duration // per stream write+flush; 0: DefaultWriteTimeout
	InflightBodyBytes   int64         // bodies read before admission, all clients; 0: DefaultInflightBodyBytes
	// ConversationCache honours requests' cache member (the engine has a
	// prefix cache, SOTTO_PREFIX_CACHE_BYTES > 0); off, it is ignored.
	ConversationCache bool
	// CORSOrigins may call /api/pubkey and /api/chat from a browser
	// (SOTTO_CORS_ORIGINS; server/cors); empty: no CORS.
	CORSOrigins []string
}

// DefaultInflightBodyBytes caps the bytes of request bodies held before
// admission when Options.InflightBodyBytes is zero (SOTTO_INFLIGHT_BODY_BYTES).
const DefaultInflightBodyBytes = intake.DefaultInflightBodyBytes

// DefaultWriteTimeout bounds one write and flush of a stream when
// Options.WriteTimeout is zero (SOTTO_WRITE_TIMEOUT_SECONDS).
const DefaultWriteTimeout = 30 * time.Second

// Deps are the components a Server drives. All are required except
// Engine, PoW (unless proof of work is on), Now and Rand. Without Engine
// the server answers health and key configuration but refuses chats until
// Attach.
type Deps struct {
	Engine        Engine
	Keys          KeyStore
	Replay        replay.Register
	Devices       device.Policy
	PoW           *pow.Issuer
	IPLimiter     ratelimit.Limiter
	DeviceLimiter ratelimit.Limiter
	Streams       *ratelimit.Concurrency
	Budget        *locked.Budget
	Metrics       *metrics.Metrics
	Log           *slog.Logger
	ClientIP      func(*http.Request) (netip.Addr, error)
	Now           func() time.Time // nil: time.Now
	Rand          io.Reader        // nil: crypto/rand
	// Enrolment serves POST /api/enroll and its challenge (attested
	// device policies); nil: no enrolment endpoints.
	Enrolment *enrol.Service
}

// Server serves the API. Ready reports whether it accepts chats.
type Server struct {
	opts          Options
	nowFn         func() time.Time
	engine        atomic.Pointer[engineRef]
	keys          KeyStore
	replay        replay.Register
	devices       device.Policy
	pow           *pow.Issuer
	ipLimiter     ratelimit.Limiter
	deviceLimiter ratelimit.Limiter
	streams       *ratelimit.Concurrency
	budget        *locked.Budget
	metrics       *metrics.Metrics
	log           *slog.Logger
	clientIP      func(*http.Request) (netip.Addr, error)
	rand          io.Reader
	accounts      *tokenAccounts
	bodies        *intake.BodyGate
	admitted      *admittedCount // requests admitted and not yet finished (checkAdmission)
	keyer         *ratelimit.SealedKeyer
	logIDs        *logIDs
	ready         atomic.Bool
	echo          *echo.Echo
	enrol         *enrol.Service // nil without enrolment
	enrolMetrics  *enrolMetrics
}

// engineRef holds the attached engine (an interface) for atomic.Pointer.
type engineRef struct{ Engine }

// New builds a Server. It is ready once an engine is attached (Deps.Engine
// or Attach) and SetReady(false) has not been called since.
func New(opts Options, d Deps) (*Server, error) {
	if d.Keys == nil || d.Replay == nil || d.Devices == nil || d.IPLimiter == nil ||
		d.DeviceLimiter == nil || d.Streams == nil || d.Budget == nil || d.Metrics == nil || d.Log == nil || d.ClientIP == nil {
		return nil, errors.New("server: missing dependency")
	}
	if opts.PoWMode != PoWOff && d.PoW == nil {
		return nil, errors.New("server: proof of work enabled without an issuer")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	opts.WriteTimeout = cmp.Or(opts.WriteTimeout, DefaultWriteTimeout)
	opts.InflightBodyBytes = cmp.Or(opts.InflightBodyBytes, DefaultInflightBodyBytes)
	if d.Rand == nil {
		d.Rand = rand.Reader
	}
	s := &Server{
		opts: opts, nowFn: d.Now,
		keys: d.Keys, replay: d.Replay, devices: d.Devices, pow: d.PoW,
		ipLimiter: d.IPLimiter, deviceLimiter: d.DeviceLimiter, streams: d.Streams,
		budget: d.Budget, metrics: d.Metrics, log: d.Log, clientIP: d.ClientIP, rand: d.Rand,
	}
	d.Metrics.SetEngineStats(func() metrics.EngineStats {
		es := s.engineStats()
		return metrics.EngineStats{Queued: es.Queued, BusySlots: es.BusySlots, Slots: es.Slots,
			KVCellsUsed: es.KVUsedCells, KVCellsTotal: es.KVTotalCells,
			PromptTokensPrefilled: es.PromptTokensPrefilled, PromptTokensCached: es.PromptTokensCached}
	})
	if r, ok := d.Replay.(metrics.ReplayRegister); ok { // in memory: a fill to watch (Redis has none)
		d.Metrics.SetReplayRegister(r)
	}
	s.accounts = newTokenAccounts(maxTokenAccounts)
	s.bodies = intake.NewBodyGate(opts.InflightBodyBytes)
	s.admitted = &admittedCount{}
	var err error
	if s.keyer, err = ratelimit.NewSealedKeyer(d.Budget); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	if s.logIDs, err = newLogIDs(d.Budget); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	if err := d.Metrics.Registry().Register(s.accounts); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	if d.Enrolment != nil {
		s.enrol = d.Enrolment
		if s.enrolMetrics, err = newEnrolMetrics(d.Metrics.Registry()); err != nil {
			return nil, fmt.Errorf("server: %w", err)
		}
	}
	s.echo = s.routes()
	if d.Engine != nil {
		s.Attach(d.Engine)
	}
	return s, nil
}

// Attach hands the server its engine once the model is loaded and marks
// it ready. Attach must be called at most once.
func (s *Server) Attach(e Engine) {
	s.engine.Store(&engineRef{e})
	s.ready.Store(true)
}

// attached returns the engine, or nil before Attach.
func (s *Server) attached() Engine {
	if r := s.engine.Load(); r != nil {
		return r.Engine
	}
	return nil
}

// engineStats is the attached engine's load; zero before Attach.
func (s *Server) engineStats() engine.Stats {
	if e := s.attached(); e != nil {
		return e.Stats()
	}
	return engine.Stats{}
}

// Handler returns the HTTP handler of the public API.
func (s *Server) Handler() http.Handler { return s.echo }

// SetReady marks the server ready or not (false when draining for
// shutdown). Ready needs an attached engine: SetReady(true) without one
// is ignored.
func (s *Server) SetReady(ok bool) { s.ready.Store(ok && s.attached() != nil) }

func (s *Server) now() time.Time { return s.nowFn() }

func (s *Server) routes() *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = s.httpError
	cors.Routes(e, cors.New(s.opts.CORSOrigins), s.handleChat, s.handlePubkey)
	e.GET(wire.PathHealthLive, s.handleLive)
	e.GET(wire.PathHealthReady, s.handleReady)
	e.GET(wire.PathHealth, s.handleReady)
	if s.opts.ServeCapacity {
		e.GET(wire.PathCapacity, s.handleCapacity)
	}
	if s.enrol != nil {
		e.POST(wire.PathEnrollChallenge, s.handleEnrollChallenge)
		e.POST(wire.PathEnroll, s.handleEnroll)
	}
	if s.opts.MetricsOnMainListen {
		e.GET(wire.PathMetrics, echo.WrapHandler(s.metrics.Handler()))
	}
	return e
}

// httpError answers routing errors (404, 405) as problems without detail.
func (s *Server) httpError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status := http.StatusInternalServerError
	var he *echo.HTTPError
	if errors.As(err, &he) {
		status = he.Code
	}
	if status >= 500 || http.StatusText(status) == "" {
		problem.Write(c.Response(), problem.New(problem.Internal))
		return
	}
	// Routing errors (404, 405) have no protocol problem name, and
	// problem.Write turns unknown names into 500: answer RFC 9457's
	// about:blank, whose meaning is the status code alone.
	h := c.Response().Header()
	h.Set("Content-Type", problem.ContentType)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	c.Response().WriteHeader(status)
	_, _ = fmt.Fprintf(c.Response(), `{"type":"about:blank","title":%q,"status":%d}`, http.StatusText(status), status)
}

func (s *Server) randomSeed() uint32 {
	var b [4]byte
	if _, err := io.ReadFull(s.rand, b[:]); err != nil {
		return engineSeed(uint64(s.now().UnixNano()))
	}
	return engineSeed(uint64(binary.BigEndian.Uint32(b[:])))
}

func overloaded() *problem.Problem {
	return reject(problem.OverloadedAfter(time.Second))
}

// reject is a step's refusal: the problem the handler answers with.
func reject(p problem.Problem) *problem.Problem { return &p }
