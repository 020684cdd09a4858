package node

import (
	"reflect"
	"slices"
	"testing"

	"github.com/sottolabs/sotto/server/config"
)

// reach is one variable set to a non-default value; base holds the other
// variables the row needs (a TLS pair, production's required settings),
// extra what the new value needs beside it (a role's own settings).
type reach struct {
	value string
	base  map[string]string
	extra map[string]string
}

// reaches lists every configuration variable. A variable missing here
// fails TestEveryVariableReachesThePlan: a new setting must prove it
// changes what the process is built with.
var reaches = map[string]reach{
	"ENVIRONMENT":              {"production", map[string]string{"SOTTO_KEY_DIR": "/k", "SOTTO_ALLOW_LIST": "/a", "SOTTO_METRICS_LISTEN": "127.0.0.1:9100"}, nil},
	"STREAMING_ENABLED":        {"false", nil, nil},
	"REQUEST_TTL_SECONDS":      {"30", nil, nil},
	"RATE_LIMIT_PER_MINUTE":    {"7", nil, nil},
	"RATE_LIMIT_BURST":         {"3", nil, nil},
	"IP_RATE_LIMIT_PER_MINUTE": {"9", nil, nil},
	"IP_RATE_LIMIT_BURST":      {"4", nil, nil},
	"SOTTO_LISTEN":             {"127.0.0.1:9443", nil, nil},
	"SOTTO_TLS_CERT":           {"/other.pem", map[string]string{"SOTTO_TLS_CERT": "/c.pem", "SOTTO_TLS_KEY": "/k.pem"}, nil},
	"SOTTO_TLS_KEY":            {"/other.key", map[string]string{"SOTTO_TLS_CERT": "/c.pem", "SOTTO_TLS_KEY": "/k.pem"}, nil},
	"SOTTO_METRICS_LISTEN":     {"127.0.0.1:9100", nil, nil},
	"SOTTO_MODEL":              {"/other.gguf", nil, nil},
	"SOTTO_MLOCK_WEIGHTS":      {"true", nil, nil},
	"SOTTO_MODEL_SHA256":       {"abababababababababababababababababababababababababababababababab", nil, nil},
	"SOTTO_KEY_DIR":            {"/keys", nil, nil},
	"SOTTO_DEVICE_POLICY":      {"open", nil, nil},
	"SOTTO_ALLOW_LIST":         {"/devices", nil, nil},
	"SOTTO_SLOTS":              {"2", nil, nil},
	"SOTTO_CONTEXT":            {"1024", nil, nil},
	"SOTTO_QUEUE_DEPTH":        {"3", nil, nil},
	"SOTTO_THREADS":            {"2", nil, nil},
	"SOTTO_PROMPT_CHUNK":       {"8", nil, nil},
	"SOTTO_STEP_TOKENS":        {"12", nil, nil},
	"MAX_BODY_BYTES":           {"100000", nil, nil},
	"MAX_TOKENS_CAP":           {"2048", nil, nil},
	"DEFAULT_MAX_TOKENS":       {"128", nil, nil},
	"MAX_STREAMS_PER_DEVICE":   {"5", nil, nil},
	"SOTTO_PAD_QUANTUM":        {"128", nil, nil},
	"SOTTO_COALESCE_MS":        {"40", nil, nil},
	"POW_MODE":                 {"always", nil, nil},
	"POW_BITS":                 {"12", nil, nil},
	"POW_AUTO_THRESHOLD":       {"0.5", nil, nil},
	"SOTTO_TRUSTED_PROXIES":    {"10.0.0.0/8", nil, nil},
	"LOG_LEVEL":                {"debug", nil, nil},
	"LOG_FORMAT":               {"text", nil, nil},
	"SHUTDOWN_GRACE_SECONDS":   {"5", nil, nil},
	"REPLAY_REGISTER_SIZE":     {"1000", nil, nil},

	"SOTTO_ROLE": {"worker", map[string]string{"SOTTO_TLS_CERT": "/c.pem", "SOTTO_TLS_KEY": "/k.pem"},
		map[string]string{"SOTTO_TLS_CLIENT_CA": "/ca.pem"}},
	"INFERENCE_ENDPOINTS":               {"https://10.0.0.9:8443", routerBase, nil},
	"SOTTO_TLS_CLIENT_CA":               {"/other-ca.pem", workerBase, nil},
	"SOTTO_TLS_CLIENT_CERT":             {"/other.pem", routerBase, nil},
	"SOTTO_TLS_CLIENT_KEY":              {"/other.key", routerBase, nil},
	"SOTTO_PEER_SPKI":                   {"47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU", workerBase, nil},
	"CIRCUIT_BREAKER_THRESHOLD":         {"2", nil, nil},
	"CIRCUIT_RESET_SECONDS":             {"3", nil, nil},
	"SOTTO_HEALTH_INTERVAL_MS":          {"500", nil, nil},
	"SOTTO_UPSTREAM_CONNECT_TIMEOUT_MS": {"100", nil, nil},
	"SOTTO_UPSTREAM_FIRST_BYTE_SECONDS": {"5", nil, nil},
	"SOTTO_UPSTREAM_IDLE_SECONDS":       {"6", nil, nil},
	"SOTTO_UPSTREAM_TOTAL_SECONDS":      {"7", nil, nil},
	"REDIS_URL":                         {"redis://127.0.0.1:6390/0", routerBase, map[string]string{"SOTTO_SHARED_SECRET_FILE": "/s"}},
	"SOTTO_SHARED_SECRET_FILE":          {"/secret", routerBase, nil},

	// Issue 19: the traffic shape, its frame interval, a worker's metrics batch.
	"SOTTO_STREAM_SHAPE":    {"constant", nil, nil},
	"SOTTO_STREAM_FRAME_MS": {"20", map[string]string{"SOTTO_STREAM_SHAPE": "constant"}, nil},
	"SOTTO_METRICS_BATCH":   {"1", workerBase, nil},

	// Issue 8: stream write deadline, cap on bodies before admission.
	"SOTTO_WRITE_TIMEOUT_SECONDS": {"5", nil, nil},
	"SOTTO_INFLIGHT_BODY_BYTES":   {"1000000", nil, nil},

	// Issue 11: the prefix cache's locked-memory cap and ttl cap.
	"SOTTO_PREFIX_CACHE_BYTES":           {"67108864", nil, nil},
	"SOTTO_PREFIX_CACHE_MAX_TTL_SECONDS": {"60", nil, nil},
	"SOTTO_PREFIX_CACHE_DEVICES":         {"2", nil, nil},

	// Issue 20: browser clients.
	"SOTTO_CORS_ORIGINS": {"null,https://chat.example", nil, nil},
	// Issue 22: enrolment by App Attest and Play Integrity.
	"SOTTO_ENROL_APPLE_APP_IDS":        {"ABCDE12345.com.example.app", nil, nil},
	"SOTTO_ENROL_ANDROID_PACKAGES":     {"com.example.app", nil, map[string]string{"SOTTO_ENROL_ANDROID_KEYS": "/play"}},
	"SOTTO_ENROL_ANDROID_CERT_DIGESTS": {"AAAA", nil, nil},
	"SOTTO_ENROL_ANDROID_KEYS":         {"/other-play", map[string]string{"SOTTO_ENROL_ANDROID_PACKAGES": "com.example.app", "SOTTO_ENROL_ANDROID_KEYS": "/play"}, nil},
	"SOTTO_ENROL_DEVELOPMENT":          {"true", nil, nil},
	"SOTTO_ENROL_SOFTWARE":             {"true", nil, nil},
	"SOTTO_ENROL_TTL_SECONDS":          {"3600", nil, nil},
	"SOTTO_ENROL_REVOKED":              {"/revoked", nil, nil},
}

// The bases of the multi-node rows: a worker (mutual TLS), a router.
var (
	workerBase = map[string]string{"SOTTO_ROLE": "worker", "SOTTO_TLS_CERT": "/c.pem", "SOTTO_TLS_KEY": "/k.pem", "SOTTO_TLS_CLIENT_CA": "/ca.pem"}
	routerBase = map[string]string{"SOTTO_ROLE": "router", "SOTTO_MODEL": "", "INFERENCE_ENDPOINTS": "https://10.0.0.2:8443",
		"SOTTO_TLS_CLIENT_CA": "/ca.pem", "SOTTO_TLS_CLIENT_CERT": "/r.pem", "SOTTO_TLS_CLIENT_KEY": "/r.key"}
)

// required are the variables without a default in development.
var required = map[string]string{"SOTTO_MODEL": "/m.gguf"}

func planOf(t *testing.T, vars map[string]string) Plan {
	t.Helper()
	cfg, err := config.Load(func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok && v != ""
	})
	if err != nil {
		t.Fatalf("config %v: %v", vars, err)
	}
	return PlanFor(cfg)
}

// TestEveryVariableReachesThePlan sets each variable to a non-default
// value and checks that the Plan the process is built from changes. A
// variable that is read and validated but reaches nothing fails here
// (STREAMING_ENABLED and SOTTO_COALESCE_MS once did).
func TestEveryVariableReachesThePlan(t *testing.T) {
	for _, name := range config.Variables() {
		t.Run(name, func(t *testing.T) {
			r, ok := reaches[name]
			if !ok {
				t.Fatalf("%s has no row in reaches: add one that proves it reaches the plan", name)
			}
			base := map[string]string{}
			for k, v := range required {
				base[k] = v
			}
			for k, v := range r.base {
				base[k] = v
			}
			set := map[string]string{name: r.value}
			for k, v := range base {
				if k != name {
					set[k] = v
				}
			}
			for k, v := range r.extra {
				set[k] = v
			}
			if reflect.DeepEqual(planOf(t, base), planOf(t, set)) {
				t.Fatalf("%s=%s leaves the plan unchanged: the setting reaches nothing", name, r.value)
			}
		})
	}
	for name := range reaches {
		if !slices.Contains(config.Variables(), name) {
			t.Errorf("reaches has a row for %s, which the configuration does not read", name)
		}
	}
}

// TestPlanStreamingAndCoalesce pins the two settings that once reached
// nothing to the server options they configure.
func TestPlanStreamingAndCoalesce(t *testing.T) {
	p := planOf(t, map[string]string{"SOTTO_MODEL": "/m", "STREAMING_ENABLED": "false", "SOTTO_COALESCE_MS": "40"})
	if !p.Server.Buffered || p.Server.Coalesce.Milliseconds() != 40 {
		t.Fatalf("server options: buffered %v, coalesce %v", p.Server.Buffered, p.Server.Coalesce)
	}
	d := planOf(t, required)
	if d.Server.Buffered || d.Server.Coalesce != 0 {
		t.Fatalf("defaults: buffered %v, coalesce %v", d.Server.Buffered, d.Server.Coalesce)
	}
}

// TestPlanWorkerMetricsBatched: a worker publishes its metrics in batches
// (its scraper is the router's host); a single node serves them live.
func TestPlanWorkerMetricsBatched(t *testing.T) {
	if p := planOf(t, required); p.MetricsBatch > 1 {
		t.Fatalf("single node: batch %d, want live", p.MetricsBatch)
	}
	w := planOf(t, map[string]string{"SOTTO_MODEL": "/m", "SOTTO_ROLE": "worker", "SOTTO_TLS_CERT": "/c", "SOTTO_TLS_KEY": "/k", "SOTTO_TLS_CLIENT_CA": "/ca"})
	if w.MetricsBatch != 16 {
		t.Fatalf("worker: batch %d", w.MetricsBatch)
	}
}
