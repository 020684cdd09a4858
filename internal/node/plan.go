package node

import (
	"log/slog"
	"net/netip"
	"time"

	"github.com/sottolabs/sotto/crypto"
	"github.com/sottolabs/sotto/internal/engine"
	"github.com/sottolabs/sotto/llama"
	"github.com/sottolabs/sotto/server"
	"github.com/sottolabs/sotto/server/config"
	"github.com/sottolabs/sotto/server/tlsreload"
)

// Sizes that are not settings: the per-stream locked buffer and the
// lifetime of a proof-of-work challenge.
const (
	streamBufferBytes = 64 << 10
	powChallengeTTL   = 2 * time.Minute
	// maxLimiterKeys bounds the in-memory limiter tables: past it a new
	// key evicts the least recently used one (rate limiters) or, for the
	// streams in flight, is refused until a stream ends.
	maxLimiterKeys = 200_000
)

// defaultSampling applies to requests that leave sampling unset.
var defaultSampling = engine.Sampling{Temperature: 0.8, TopK: 40, TopP: 0.95, MinP: 0.05, RepeatPenalty: 1.0}

// Plan is everything a process is built from, derived from a Config in
// one place (PlanFor). The node reads settings only through its Plan, so
// a test that compares plans proves that every variable reaches what it
// configures.
type Plan struct {
	Log          LogPlan
	Listen       config.Addr
	Metrics      config.Addr // zero: /metrics on the public listener
	TLS          TLSPlan
	Keys         KeysPlan
	Devices      DevicesPlan
	Enrol        EnrolPlan // attested device policies (enrol.go)
	ModelPath    string
	ModelSHA256  string            // hex, either case; empty: not checked
	Model        llama.ModelParams // Budget is filled by the node
	Engine       llama.Config      // Budget is filled by the node
	Server       server.Options
	PoWBits      int
	IPLimit      LimitPlan
	DeviceLimit  LimitPlan
	StreamsPerID int
	ReplaySize   int
	Proxies      []netip.Prefix
	UnixListener bool
	Grace        time.Duration

	Role             config.Role
	MTLS             MTLSPlan   // worker and router
	Router           RouterPlan // router only
	RedisURL         string     // shared replay register and limiters; empty: in memory
	SharedSecretFile string     // PoW and limiter-key secret shared by routers
	// MetricsBatch publishes /metrics in snapshots of at least this many
	// finished requests (server/metrics batch.go): a worker's, whose
	// scraper is the router's host; 0 or 1: live.
	MetricsBatch int
}

// MTLSPlan is mutual TLS between a router and its workers: the CA that
// peers' certificates chain to, the router's client certificate, and
// optional SPKI pins of the peers.
type MTLSPlan struct {
	ClientCA, ClientCert, ClientKey string
	Pins                            tlsreload.Pins
}

// RouterPlan is the router's workers, health checks, circuit breakers and
// timeouts.
type RouterPlan struct {
	Upstreams        []string
	HealthInterval   time.Duration
	BreakerThreshold int
	BreakerReset     time.Duration
	Connect          time.Duration
	FirstByte        time.Duration
	Idle             time.Duration
	Total            time.Duration
	// UpstreamPins are the workers' own SPKI pins (INFERENCE_ENDPOINTS
	// entries with #spki=), by base URL; they replace MTLS.Pins for that
	// worker.
	UpstreamPins map[string]tlsreload.Pins
}

// LogPlan is the logger's level and encoding. TextOnTerminal (LOG_FORMAT
// auto in development) switches JSON to text when standard error is a
// terminal: a person reads it.
type LogPlan struct {
	Level          slog.Level
	JSON           bool
	TextOnTerminal bool
}

// TLSPlan is the public listener's certificate; empty paths mean plain
// HTTP (a local listener behind a TLS-terminating proxy).
type TLSPlan struct{ Cert, Key string }

// KeysPlan locates the HPKE key directory; CreateIfMissing makes one
// (development only).
type KeysPlan struct {
	Dir             string
	CreateIfMissing bool
}

// DevicesPlan is the device policy: an allow-list file, or open.
// CreateIfMissing (development) makes a missing allow-list with one
// development device, as a missing key directory is made.
type DevicesPlan struct {
	Open            bool
	AllowList       string
	CreateIfMissing bool
}

// LimitPlan is one token-bucket limiter; the zero LimitPlan is no limit.
type LimitPlan struct{ PerMinute, Burst int }

// PlanFor derives the Plan of cfg. cfg must have passed Validate.
func PlanFor(cfg config.Config) Plan {
	p := basePlan(cfg)
	p.Role = cfg.Role
	p.MTLS = MTLSPlan{ClientCA: cfg.TLSClientCA, ClientCert: cfg.TLSClientCert, ClientKey: cfg.TLSClientKey,
		Pins: tlsreload.Pins(cfg.PeerSPKI)}
	p.Router = RouterPlan{
		HealthInterval:   cfg.HealthInterval(),
		BreakerThreshold: cfg.BreakerThreshold, BreakerReset: cfg.CircuitReset(),
		Connect:   time.Duration(cfg.UpstreamConnectMS) * time.Millisecond,
		FirstByte: time.Duration(cfg.UpstreamFirstByteSec) * time.Second,
		Idle:      time.Duration(cfg.UpstreamIdleSec) * time.Second,
		Total:     time.Duration(cfg.UpstreamTotalSec) * time.Second,
	}
	p.Router.Upstreams, p.Router.UpstreamPins = upstreams(cfg.InferenceEndpoints)
	p.RedisURL, p.SharedSecretFile = cfg.RedisURL, cfg.SharedSecretFile
	if cfg.Role == config.RoleWorker {
		// The router in front limits per IP and per device and asks for
		// proof of work; the worker's only client is the router.
		p.Server.ServeCapacity = true
		p.Server.PoWMode = server.PoWOff
		p.IPLimit, p.DeviceLimit = LimitPlan{}, LimitPlan{}
		p.MetricsBatch = cfg.MetricsBatch
	}
	return p
}

func basePlan(cfg config.Config) Plan {
	return Plan{
		Log: LogPlan{Level: cfg.LogLevel, JSON: cfg.LogFormat != config.LogText,
			TextOnTerminal: cfg.LogFormat == config.LogAuto && cfg.Environment == config.Development},
		Listen:  cfg.Listen,
		Metrics: cfg.MetricsListen,
		TLS:     TLSPlan{Cert: cfg.TLSCert, Key: cfg.TLSKey},
		Keys:    KeysPlan{Dir: cfg.KeyDir, CreateIfMissing: cfg.Environment == config.Development},
		Devices: DevicesPlan{Open: cfg.DevicePolicy == config.Open, AllowList: cfg.AllowList,
			CreateIfMissing: cfg.Environment == config.Development},
		Enrol: enrolPlan(cfg),

		ModelPath:   cfg.Model,
		ModelSHA256: cfg.ModelSHA256,
		Model:       llama.ModelParams{MLock: cfg.MlockWeights},
		Engine: llama.Config{
			Slots:          cfg.Slots,
			ContextPerSlot: cfg.Context,
			Threads:        cfg.Threads,
			PromptChunk:    cfg.PromptChunk,
			StepTokens:     cfg.StepTokens,
			QueueDepth:     cfg.QueueDepth,
			MaxTokensCap:   cfg.MaxTokensCap,
			// Issue 11: conversations' KV prefixes, in locked memory.
			PrefixCacheBytes:  cfg.PrefixCacheBytes,
			PrefixCacheMaxTTL: cfg.PrefixCacheMaxTTL(),
			// Issue 17: one share per device.
			PrefixCacheDevices: cfg.PrefixCacheDevices,
		},
		Server:       serverOptions(cfg),
		PoWBits:      cfg.PoWBits,
		IPLimit:      LimitPlan{PerMinute: cfg.IPRateLimitPerMinute, Burst: cfg.IPRateLimitBurst},
		DeviceLimit:  LimitPlan{PerMinute: cfg.RateLimitPerMinute, Burst: cfg.RateLimitBurst},
		StreamsPerID: cfg.MaxStreamsPerDevice,
		ReplaySize:   cfg.ReplayRegisterSize,
		Proxies:      cfg.TrustedProxies,
		UnixListener: cfg.Listen.Network == "unix",
		Grace:        cfg.ShutdownGrace(),
	}
}

func serverOptions(cfg config.Config) server.Options {
	return server.Options{
		RequestTTL:          cfg.RequestTTL(),
		MaxBodyBytes:        int64(cfg.MaxBodyBytes),
		QueueDepth:          cfg.QueueDepth,
		PadQuantum:          cfg.PadQuantum,
		DefaultMaxTokens:    cfg.DefaultMaxTokens,
		DefaultSampling:     defaultSampling,
		RequestLimits:       crypto.Limits{MaxTokens: cfg.MaxTokensCap},
		StreamBufferBytes:   streamBufferBytes,
		Coalesce:            cfg.Coalesce(),
		Buffered:            !cfg.StreamingEnabled,
		ShapeFrame:          cfg.ShapeFrame(),
		PoWMode:             string(cfg.PoWMode),
		PoWAutoThreshold:    cfg.PoWAutoThreshold,
		MetricsOnMainListen: !cfg.MetricsListen.IsSet(),
		WriteTimeout:        cfg.WriteTimeout(),
		InflightBodyBytes:   int64(cfg.InflightBodyBytes),
		ConversationCache:   cfg.PrefixCacheBytes > 0,
		CORSOrigins:         cfg.CORSOrigins,
	}
}

// upstreams splits INFERENCE_ENDPOINTS into the workers' base URLs and
// their own pins (nil when no worker has one).
func upstreams(eps config.URLs) ([]string, map[string]tlsreload.Pins) {
	var urls []string
	var pins map[string]tlsreload.Pins
	for _, e := range eps {
		u, p := config.URLPin(e)
		urls = append(urls, u)
		if p != nil {
			if pins == nil {
				pins = map[string]tlsreload.Pins{}
			}
			pins[u] = tlsreload.Pins(p)
		}
	}
	return urls, pins
}
