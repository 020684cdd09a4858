// Package config reads the server's settings from environment variables
// (github.com/caarlos0/env), optionally backed by a .env file that never
// overrides the real environment (github.com/joho/godotenv), and validates
// them. Variables without the SOTTO_ prefix keep the names the seed
// deployment used.
//
// Errors name the variable and the rule it broke, never its value. A
// Config is a plain value: read it, do not mutate it after Load.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"

	"github.com/caarlos0/env/v11"
)

// DefaultMaxBodyBytes is the largest request body the protocol allows:
// header (32) + the largest enc (X-Wing, 1120) + the largest padded inner
// request (256 KiB) + the AEAD tag (16).
const DefaultMaxBodyBytes = 32 + 1120 + 262144 + 16

// MinBodyBytes is the smallest valid request: header, an X25519 enc, the
// minimum padded inner request (256) and the tag. A lower MAX_BODY_BYTES
// would refuse every request.
const MinBodyBytes = 32 + 32 + 256 + 16

// Config is the server's settings. See docs/operations.md for the meaning
// of every variable.
type Config struct {
	Environment      Environment `env:"ENVIRONMENT" envDefault:"development"`
	StreamingEnabled bool        `env:"STREAMING_ENABLED" envDefault:"true"`

	RequestTTLSeconds    int `env:"REQUEST_TTL_SECONDS" envDefault:"60"`
	RateLimitPerMinute   int `env:"RATE_LIMIT_PER_MINUTE" envDefault:"60"`
	RateLimitBurst       int `env:"RATE_LIMIT_BURST" envDefault:"10"`
	IPRateLimitPerMinute int `env:"IP_RATE_LIMIT_PER_MINUTE" envDefault:"120"`
	IPRateLimitBurst     int `env:"IP_RATE_LIMIT_BURST" envDefault:"30"`

	Listen        Addr   `env:"SOTTO_LISTEN" envDefault:"127.0.0.1:8080"`
	TLSCert       string `env:"SOTTO_TLS_CERT"`
	TLSKey        string `env:"SOTTO_TLS_KEY"`
	MetricsListen Addr   `env:"SOTTO_METRICS_LISTEN"`

	Model        string       `env:"SOTTO_MODEL"`
	MlockWeights bool         `env:"SOTTO_MLOCK_WEIGHTS" envDefault:"false"`
	ModelSHA256  string       `env:"SOTTO_MODEL_SHA256"`
	KeyDir       string       `env:"SOTTO_KEY_DIR"`
	DevicePolicy DevicePolicy `env:"SOTTO_DEVICE_POLICY" envDefault:"allowlist"`
	AllowList    string       `env:"SOTTO_ALLOW_LIST"`

	// Enrolment (issue 22, docs/enrolment.md): platform attestation under
	// SOTTO_DEVICE_POLICY attested or attested+allowlist.
	EnrolAppleAppIDs        Words  `env:"SOTTO_ENROL_APPLE_APP_IDS"`
	EnrolAndroidPackages    Words  `env:"SOTTO_ENROL_ANDROID_PACKAGES"`
	EnrolAndroidCertDigests Words  `env:"SOTTO_ENROL_ANDROID_CERT_DIGESTS"`
	EnrolAndroidKeys        string `env:"SOTTO_ENROL_ANDROID_KEYS"`
	EnrolDevelopment        bool   `env:"SOTTO_ENROL_DEVELOPMENT" envDefault:"false"`
	EnrolSoftware           bool   `env:"SOTTO_ENROL_SOFTWARE" envDefault:"false"`
	EnrolTTLSeconds         int    `env:"SOTTO_ENROL_TTL_SECONDS" envDefault:"86400"`
	EnrolRevoked            string `env:"SOTTO_ENROL_REVOKED"`

	Slots      int `env:"SOTTO_SLOTS" envDefault:"4"`
	Context    int `env:"SOTTO_CONTEXT" envDefault:"2048"`
	QueueDepth int `env:"SOTTO_QUEUE_DEPTH" envDefault:"16"`
	Threads    int `env:"SOTTO_THREADS" envDefault:"0"`
	// PromptChunk is the most prompt tokens one decode step takes.
	PromptChunk int `env:"SOTTO_PROMPT_CHUNK" envDefault:"64"`
	// StepTokens is the most tokens one step takes while streams generate.
	StepTokens int `env:"SOTTO_STEP_TOKENS" envDefault:"0"`

	MaxBodyBytes        int `env:"MAX_BODY_BYTES" envDefault:"263312"`
	MaxTokensCap        int `env:"MAX_TOKENS_CAP" envDefault:"4096"`
	DefaultMaxTokens    int `env:"DEFAULT_MAX_TOKENS" envDefault:"256"`
	MaxStreamsPerDevice int `env:"MAX_STREAMS_PER_DEVICE" envDefault:"2"`
	PadQuantum          int `env:"SOTTO_PAD_QUANTUM" envDefault:"64"`
	CoalesceMS          int `env:"SOTTO_COALESCE_MS" envDefault:"0"`
	WriteTimeoutSeconds int `env:"SOTTO_WRITE_TIMEOUT_SECONDS" envDefault:"30"`
	InflightBodyBytes   int `env:"SOTTO_INFLIGHT_BODY_BYTES" envDefault:"67108864"`

	// Private multi-turn (issue 11): locked memory for conversations' KV
	// prefixes (0 = off) and the longest a client may keep one.
	PrefixCacheBytes         int64 `env:"SOTTO_PREFIX_CACHE_BYTES" envDefault:"0"`
	PrefixCacheMaxTTLSeconds int   `env:"SOTTO_PREFIX_CACHE_MAX_TTL_SECONDS" envDefault:"600"`
	PrefixCacheDevices       int   `env:"SOTTO_PREFIX_CACHE_DEVICES" envDefault:"8"`

	// Traffic shape (issue 19, docs/protocol.md 5.5): off or constant; the
	// default follows ENVIRONMENT (applyDerivedDefaults). A worker's
	// metrics are published every MetricsBatch finished requests.
	StreamShape   StreamShape `env:"SOTTO_STREAM_SHAPE"`
	StreamFrameMS int         `env:"SOTTO_STREAM_FRAME_MS" envDefault:"50"`
	MetricsBatch  int         `env:"SOTTO_METRICS_BATCH" envDefault:"16"`

	PoWMode          PoWMode `env:"POW_MODE" envDefault:"off"`
	PoWBits          int     `env:"POW_BITS" envDefault:"18"`
	PoWAutoThreshold float64 `env:"POW_AUTO_THRESHOLD" envDefault:"0.8"`

	TrustedProxies Prefixes `env:"SOTTO_TRUSTED_PROXIES"`
	// Browser clients (issue 20): origins allowed to call /api/pubkey and
	// /api/chat; empty: no CORS.
	CORSOrigins Origins `env:"SOTTO_CORS_ORIGINS"`

	LogLevel  slog.Level `env:"LOG_LEVEL" envDefault:"info"`
	LogFormat LogFormat  `env:"LOG_FORMAT" envDefault:"auto"`

	ShutdownGraceSeconds int `env:"SHUTDOWN_GRACE_SECONDS" envDefault:"30"`
	ReplayRegisterSize   int `env:"REPLAY_REGISTER_SIZE" envDefault:"1000000"`

	// Multi-node (docs/deployment.md): the role, the router's workers and
	// timeouts, mutual TLS between them, and state shared by routers.
	Role                 Role   `env:"SOTTO_ROLE" envDefault:"all"`
	InferenceEndpoints   URLs   `env:"INFERENCE_ENDPOINTS"`
	TLSClientCA          string `env:"SOTTO_TLS_CLIENT_CA"`
	TLSClientCert        string `env:"SOTTO_TLS_CLIENT_CERT"`
	TLSClientKey         string `env:"SOTTO_TLS_CLIENT_KEY"`
	PeerSPKI             Pins   `env:"SOTTO_PEER_SPKI"`
	BreakerThreshold     int    `env:"CIRCUIT_BREAKER_THRESHOLD" envDefault:"5"`
	BreakerResetSeconds  int    `env:"CIRCUIT_RESET_SECONDS" envDefault:"30"`
	HealthIntervalMS     int    `env:"SOTTO_HEALTH_INTERVAL_MS" envDefault:"2000"`
	UpstreamConnectMS    int    `env:"SOTTO_UPSTREAM_CONNECT_TIMEOUT_MS" envDefault:"3000"`
	UpstreamFirstByteSec int    `env:"SOTTO_UPSTREAM_FIRST_BYTE_SECONDS" envDefault:"120"`
	UpstreamIdleSec      int    `env:"SOTTO_UPSTREAM_IDLE_SECONDS" envDefault:"60"`
	UpstreamTotalSec     int    `env:"SOTTO_UPSTREAM_TOTAL_SECONDS" envDefault:"900"`
	RedisURL             string `env:"REDIS_URL"`
	SharedSecretFile     string `env:"SOTTO_SHARED_SECRET_FILE"`
}

// Lookup finds one variable, like os.LookupEnv.
type Lookup func(name string) (string, bool)

// Load reads every variable of Config through lookup, applies the
// defaults and validates the result. An empty value counts as unset. The
// error joins one *VarError per bad variable.
func Load(lookup Lookup) (Config, error) {
	var cfg Config
	opts := env.Options{Environment: snapshot(lookup)}
	if err := env.ParseWithOptions(&cfg, opts); err != nil {
		return Config{}, translate(err)
	}
	cfg.applyDerivedDefaults()
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// VarError is a problem with one variable. Reason never contains the
// variable's value.
type VarError struct {
	Var    string
	Reason string
}

func (e *VarError) Error() string { return "config: " + e.Var + ": " + e.Reason }

// Variables returns the names of every variable Config reads, in field
// order.
func Variables() []string {
	t := reflect.TypeFor[Config]()
	names := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		names = append(names, envName(t.Field(i)))
	}
	return names
}

// snapshot copies the variables Config reads out of lookup, so the env
// library never sees the rest of the environment.
func snapshot(lookup Lookup) map[string]string {
	m := make(map[string]string)
	for _, name := range Variables() {
		if v, ok := lookup(name); ok {
			m[name] = v
		}
	}
	return m
}

func envName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("env"), ",")
	return name
}

// translate rewrites the env library's errors, whose text can include the
// offending value, into VarErrors that name only the variable.
func translate(err error) error {
	var agg env.AggregateError
	if !errors.As(err, &agg) {
		return fmt.Errorf("config: %w", err)
	}
	errs := make([]error, 0, len(agg.Errors))
	for _, e := range agg.Errors {
		var pe env.ParseError
		if !errors.As(e, &pe) {
			errs = append(errs, fmt.Errorf("config: %w", e))
			continue
		}
		f, _ := reflect.TypeFor[Config]().FieldByName(pe.Name)
		errs = append(errs, &VarError{Var: envName(f), Reason: parseReason(pe)})
	}
	return errors.Join(errs...)
}

// parseReason explains a parse failure from the field's type; the
// package's own types return reasons that do not echo input.
func parseReason(pe env.ParseError) string {
	var re reasonError
	if errors.As(pe.Err, &re) {
		return string(re)
	}
	if pe.Type == reflect.TypeFor[slog.Level]() {
		return "must be debug, info, warn or error"
	}
	switch pe.Type.Kind() {
	case reflect.Bool:
		return "must be true or false"
	case reflect.Int, reflect.Int64:
		return "must be an integer"
	case reflect.Float64:
		return "must be a number"
	}
	return "invalid value"
}
