package node

import (
	"reflect"
	"slices"
	"testing"

	"github.com/sottolabs/sotto/server/config"
)

// reach is one variable set to a non-default value; base holds the other
// variables the row needs (a TLS pair, production's required settings).
type reach struct {
	value string
	base  map[string]string
}

// reaches lists every configuration variable. A variable missing here
// fails TestEveryVariableReachesThePlan: a new setting must prove it
// changes what the process is built with.
var reaches = map[string]reach{
	"ENVIRONMENT":              {"production", map[string]string{"SOTTO_KEY_DIR": "/k", "SOTTO_ALLOW_LIST": "/a", "SOTTO_METRICS_LISTEN": "127.0.0.1:9100"}},
	"STREAMING_ENABLED":        {"false", nil},
	"REQUEST_TTL_SECONDS":      {"30", nil},
	"RATE_LIMIT_PER_MINUTE":    {"7", nil},
	"RATE_LIMIT_BURST":         {"3", nil},
	"IP_RATE_LIMIT_PER_MINUTE": {"9", nil},
	"IP_RATE_LIMIT_BURST":      {"4", nil},
	"SOTTO_LISTEN":             {"127.0.0.1:9443", nil},
	"SOTTO_TLS_CERT":           {"/other.pem", map[string]string{"SOTTO_TLS_CERT": "/c.pem", "SOTTO_TLS_KEY": "/k.pem"}},
	"SOTTO_TLS_KEY":            {"/other.key", map[string]string{"SOTTO_TLS_CERT": "/c.pem", "SOTTO_TLS_KEY": "/k.pem"}},
	"SOTTO_METRICS_LISTEN":     {"127.0.0.1:9100", nil},
	"SOTTO_MODEL":              {"/other.gguf", nil},
	"SOTTO_MLOCK_WEIGHTS":      {"true", nil},
	"SOTTO_KEY_DIR":            {"/keys", nil},
	"SOTTO_DEVICE_POLICY":      {"open", nil},
	"SOTTO_ALLOW_LIST":         {"/devices", nil},
	"SOTTO_SLOTS":              {"2", nil},
	"SOTTO_CONTEXT":            {"1024", nil},
	"SOTTO_QUEUE_DEPTH":        {"3", nil},
	"SOTTO_THREADS":            {"2", nil},
	"MAX_BODY_BYTES":           {"100000", nil},
	"MAX_TOKENS_CAP":           {"2048", nil},
	"DEFAULT_MAX_TOKENS":       {"128", nil},
	"MAX_STREAMS_PER_DEVICE":   {"5", nil},
	"SOTTO_PAD_QUANTUM":        {"128", nil},
	"SOTTO_COALESCE_MS":        {"40", nil},
	"POW_MODE":                 {"always", nil},
	"POW_BITS":                 {"12", nil},
	"POW_AUTO_THRESHOLD":       {"0.5", nil},
	"SOTTO_TRUSTED_PROXIES":    {"10.0.0.0/8", nil},
	"LOG_LEVEL":                {"debug", nil},
	"LOG_FORMAT":               {"text", nil},
	"SHUTDOWN_GRACE_SECONDS":   {"5", nil},
	"REPLAY_REGISTER_SIZE":     {"1000", nil},

	// Issue 8: stream write deadline, cap on bodies before admission.
	"SOTTO_WRITE_TIMEOUT_SECONDS": {"5", nil},
	"SOTTO_INFLIGHT_BODY_BYTES":   {"1000000", nil},
}

// required are the variables without a default in development.
var required = map[string]string{"SOTTO_MODEL": "/m.gguf"}

func planOf(t *testing.T, vars map[string]string) Plan {
	t.Helper()
	cfg, err := config.Load(func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
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
