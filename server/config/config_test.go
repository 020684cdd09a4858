package config

import (
	"errors"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// vars turns a map into a Lookup.
func vars(m map[string]string) Lookup {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// base is the least a development configuration needs.
func base(extra ...string) map[string]string {
	m := map[string]string{"SOTTO_MODEL": "/models/m.gguf"}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i]] = extra[i+1]
	}
	return m
}

func TestDefaults(t *testing.T) {
	got, err := Load(vars(base()))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Environment: Development, StreamingEnabled: true,
		RequestTTLSeconds: 60, RateLimitPerMinute: 60, RateLimitBurst: 10,
		IPRateLimitPerMinute: 120, IPRateLimitBurst: 30,
		Listen: Addr{Network: "tcp", Address: "127.0.0.1:8080"},
		Model:  "/models/m.gguf", KeyDir: "./dev/keys",
		DevicePolicy: AllowList, AllowList: "./dev/allow-list", EnrolTTLSeconds: 86400,
		Slots: 4, Context: 2048, QueueDepth: 16, Threads: 0, PromptChunk: 64, StepTokens: 0,
		MaxBodyBytes: 263312, MaxTokensCap: 4096, DefaultMaxTokens: 256,
		MaxStreamsPerDevice: 2, PadQuantum: 64, CoalesceMS: 0,
		WriteTimeoutSeconds: 30, InflightBodyBytes: 64 << 20, PrefixCacheMaxTTLSeconds: 600, PrefixCacheDevices: 8,
		StreamShape: ShapeOff, StreamFrameMS: 50, MetricsBatch: 16,
		PoWMode: PoWOff, PoWBits: 18, PoWAutoThreshold: 0.8,
		LogLevel: slog.LevelInfo, LogFormat: LogAuto,
		ShutdownGraceSeconds: 30, ReplayRegisterSize: 1000000,
		Role: RoleAll, BreakerThreshold: 5, BreakerResetSeconds: 30, HealthIntervalMS: 2000,
		UpstreamConnectMS: 3000, UpstreamFirstByteSec: 120, UpstreamIdleSec: 60, UpstreamTotalSec: 900,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	if got.MaxBodyBytes != DefaultMaxBodyBytes || got.TLSEnabled() || got.RequestTTL().Seconds() != 60 ||
		got.WriteTimeout().Seconds() != 30 {
		t.Fatal("derived accessors disagree with the defaults")
	}
}

func TestExplicitValues(t *testing.T) {
	got, err := Load(vars(map[string]string{
		"ENVIRONMENT": "Production", "STREAMING_ENABLED": "false",
		"SOTTO_LISTEN": "unix:/run/sotto/sotto.sock", "SOTTO_METRICS_LISTEN": "10.0.0.5:9100",
		"SOTTO_MODEL": "/m", "SOTTO_KEY_DIR": "/var/lib/sotto/keys", "SOTTO_ALLOW_LIST": "/etc/sotto/devices",
		"SOTTO_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.1,,fd00::/8", "LOG_LEVEL": "debug", "LOG_FORMAT": "text",
		"POW_MODE": "auto", "POW_AUTO_THRESHOLD": "0.5", "SOTTO_COALESCE_MS": "50", "RATE_LIMIT_PER_MINUTE": "",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if got.Environment != Production || got.StreamingEnabled || got.Listen.String() != "unix:/run/sotto/sotto.sock" ||
		got.MetricsListen != (Addr{"tcp", "10.0.0.5:9100"}) || got.LogLevel != slog.LevelDebug || got.LogFormat != LogText ||
		got.PoWMode != PoWAuto || got.PoWAutoThreshold != 0.5 || got.Coalesce().Milliseconds() != 50 ||
		got.RateLimitPerMinute != 60 || got.KeyDir != "/var/lib/sotto/keys" {
		t.Fatalf("got %+v", got)
	}
	want := Prefixes{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.1.1/32"), netip.MustParsePrefix("fd00::/8")}
	if !reflect.DeepEqual(got.TrustedProxies, want) {
		t.Fatalf("TrustedProxies = %v", got.TrustedProxies)
	}
}

func TestValidationFailures(t *testing.T) {
	const secret = "s3cr3t-value"
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"environment", base("ENVIRONMENT", secret), "config: ENVIRONMENT: must be development or production"},
		{"bool", base("STREAMING_ENABLED", secret), "config: STREAMING_ENABLED: must be true or false"},
		{"int", base("SOTTO_SLOTS", secret), "config: SOTTO_SLOTS: must be an integer"},
		{"float", base("POW_AUTO_THRESHOLD", secret), "config: POW_AUTO_THRESHOLD: must be a number"},
		{"log level", base("LOG_LEVEL", secret), "config: LOG_LEVEL: must be debug, info, warn or error"},
		{"log format", base("LOG_FORMAT", secret), "config: LOG_FORMAT: must be json, text or auto"},
		{"pow mode", base("POW_MODE", secret), "config: POW_MODE: must be off, always or auto"},
		{"device policy", base("SOTTO_DEVICE_POLICY", secret), "config: SOTTO_DEVICE_POLICY: must be allowlist, open, attested or attested+allowlist"},
		{"listen syntax", base("SOTTO_LISTEN", secret), "config: SOTTO_LISTEN: must be host:port or unix:/path"},
		{"relative socket", base("SOTTO_LISTEN", "unix:"+secret), "config: SOTTO_LISTEN: unix socket path must be absolute (unix:/path)"},
		{"proxies", base("SOTTO_TRUSTED_PROXIES", "10.0.0.0/8,"+secret), "config: SOTTO_TRUSTED_PROXIES: must be a comma-separated list of CIDR prefixes or IP addresses"},
		{"ttl", base("REQUEST_TTL_SECONDS", "0"), "config: REQUEST_TTL_SECONDS: must be between 1 and 3600"},
		{"rate", base("RATE_LIMIT_PER_MINUTE", "-1"), "config: RATE_LIMIT_PER_MINUTE: must be between 1 and 1000000"},
		{"burst", base("RATE_LIMIT_BURST", "0"), "config: RATE_LIMIT_BURST: must be between 1 and 1000000"},
		{"ip rate", base("IP_RATE_LIMIT_PER_MINUTE", "0"), "config: IP_RATE_LIMIT_PER_MINUTE: must be between 1 and 1000000"},
		{"ip burst", base("IP_RATE_LIMIT_BURST", "0"), "config: IP_RATE_LIMIT_BURST: must be between 1 and 1000000"},
		{"public without tls", base("SOTTO_LISTEN", ":8443"),
			"config: SOTTO_TLS_CERT: required unless SOTTO_LISTEN is a loopback address or unix socket\n" +
				"config: SOTTO_TLS_KEY: required unless SOTTO_LISTEN is a loopback address or unix socket"},
		{"half tls pair", base("SOTTO_TLS_CERT", "/c.pem"), "config: SOTTO_TLS_KEY: required when the other half of the TLS pair is set"},
		{"metrics same as listen", base("SOTTO_METRICS_LISTEN", "127.0.0.1:8080"), "config: SOTTO_METRICS_LISTEN: must differ from SOTTO_LISTEN (metrics never share the public listener)"},
		{"production metrics on the public listener", base("ENVIRONMENT", "production", "SOTTO_KEY_DIR", "/k", "SOTTO_ALLOW_LIST", "/a"),
			"config: SOTTO_METRICS_LISTEN: required in production (/metrics is never served on the public listener)"},
		{"write timeout", base("SOTTO_WRITE_TIMEOUT_SECONDS", "0"), "config: SOTTO_WRITE_TIMEOUT_SECONDS: must be between 1 and 3600"},
		{"inflight bodies", base("SOTTO_INFLIGHT_BODY_BYTES", "1000"), "config: SOTTO_INFLIGHT_BODY_BYTES: must be between MAX_BODY_BYTES and 17179869184"},
		{"metrics syntax", base("SOTTO_METRICS_LISTEN", "9100"), "config: SOTTO_METRICS_LISTEN: must be host:port or unix:/path"},
		{"production model", map[string]string{"ENVIRONMENT": "production", "SOTTO_KEY_DIR": "/k", "SOTTO_ALLOW_LIST": "/a", "SOTTO_METRICS_LISTEN": "127.0.0.1:9100"},
			"config: SOTTO_MODEL: required in production (path of the GGUF model; development serves the embedded demo model)"},
		{"production key dir", base("ENVIRONMENT", "production", "SOTTO_ALLOW_LIST", "/a", "SOTTO_METRICS_LISTEN", "127.0.0.1:9100"), "config: SOTTO_KEY_DIR: required in production"},
		{"production open", base("ENVIRONMENT", "production", "SOTTO_KEY_DIR", "/k", "SOTTO_DEVICE_POLICY", "open", "SOTTO_METRICS_LISTEN", "127.0.0.1:9100"), "config: SOTTO_DEVICE_POLICY: open is refused in production (use allowlist)"},
		{"production allow list", base("ENVIRONMENT", "production", "SOTTO_KEY_DIR", "/k", "SOTTO_METRICS_LISTEN", "127.0.0.1:9100"), "config: SOTTO_ALLOW_LIST: required when SOTTO_DEVICE_POLICY is allowlist"},
		{"slots", base("SOTTO_SLOTS", "0"), "config: SOTTO_SLOTS: must be between 1 and 256"},
		{"context", base("SOTTO_CONTEXT", "32"), "config: SOTTO_CONTEXT: must be between 64 and 1048576"},
		{"queue", base("SOTTO_QUEUE_DEPTH", "-1"), "config: SOTTO_QUEUE_DEPTH: must be between 0 and 100000"},
		{"threads", base("SOTTO_THREADS", "-1"), "config: SOTTO_THREADS: must be between 0 (all cores) and 1024"},
		{"body small", base("MAX_BODY_BYTES", "335"), "config: MAX_BODY_BYTES: must be between 336 and 263312 (the protocol's largest request)"},
		{"body large", base("MAX_BODY_BYTES", "263313"), "config: MAX_BODY_BYTES: must be between 336 and 263312 (the protocol's largest request)"},
		{"tokens cap", base("MAX_TOKENS_CAP", "0", "DEFAULT_MAX_TOKENS", "1"),
			"config: MAX_TOKENS_CAP: must be between 1 and 1048576\nconfig: DEFAULT_MAX_TOKENS: must be between 1 and MAX_TOKENS_CAP"},
		{"default tokens", base("MAX_TOKENS_CAP", "100"), "config: DEFAULT_MAX_TOKENS: must be between 1 and MAX_TOKENS_CAP"},
		{"streams", base("MAX_STREAMS_PER_DEVICE", "0"), "config: MAX_STREAMS_PER_DEVICE: must be between 1 and 1000"},
		{"pad", base("SOTTO_PAD_QUANTUM", "0"), "config: SOTTO_PAD_QUANTUM: must be between 1 and 4096"},
		{"coalesce", base("SOTTO_COALESCE_MS", "-5"), "config: SOTTO_COALESCE_MS: must be between 0 (per token) and 10000"},
		{"pow bits", base("POW_BITS", "33"), "config: POW_BITS: must be between 1 and 32"},
		{"pow threshold", base("POW_AUTO_THRESHOLD", "1.5"), "config: POW_AUTO_THRESHOLD: must be greater than 0 and at most 1 (a fraction of capacity)"},
		{"pow threshold nan", base("POW_AUTO_THRESHOLD", "NaN"), "config: POW_AUTO_THRESHOLD: must be greater than 0 and at most 1 (a fraction of capacity)"},
		{"grace", base("SHUTDOWN_GRACE_SECONDS", "-1"), "config: SHUTDOWN_GRACE_SECONDS: must be between 0 and 3600"},
		{"prefix cache", base("SOTTO_PREFIX_CACHE_BYTES", "-1"), "config: SOTTO_PREFIX_CACHE_BYTES: must be between 0 (off) and 1099511627776"},
		{"prefix cache int", base("SOTTO_PREFIX_CACHE_BYTES", secret), "config: SOTTO_PREFIX_CACHE_BYTES: must be an integer"},
		{"prefix ttl", base("SOTTO_PREFIX_CACHE_MAX_TTL_SECONDS", "0"), "config: SOTTO_PREFIX_CACHE_MAX_TTL_SECONDS: must be between 1 and 86400"},
		{"replay", base("REPLAY_REGISTER_SIZE", "0"), "config: REPLAY_REGISTER_SIZE: must be between 1 and 100000000"},
		{"several parse errors", base("SOTTO_SLOTS", secret, "POW_MODE", secret),
			"config: SOTTO_SLOTS: must be an integer\nconfig: POW_MODE: must be off, always or auto"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(vars(tt.env))
			if err == nil {
				t.Fatal("no error")
			}
			if err.Error() != tt.want {
				t.Fatalf("error =\n%s\nwant\n%s", err, tt.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatal("error echoes the value")
			}
			var ve *VarError
			if !errors.As(err, &ve) {
				t.Fatalf("error %T is not a *VarError", err)
			}
		})
	}
}

// TestMetricsListener: production refuses /metrics on the public listener
// (see TestValidationFailures); development serves it there and warns.
func TestMetricsListener(t *testing.T) {
	dev, err := Load(vars(base()))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"SOTTO_METRICS_LISTEN unset: /metrics is served on the public listener (development only)"}
	if dev.MetricsListen.IsSet() || !reflect.DeepEqual(dev.Warnings(), want) {
		t.Fatalf("development: metrics %v, warnings %q", dev.MetricsListen, dev.Warnings())
	}
	prod, err := Load(vars(base("ENVIRONMENT", "production", "SOTTO_KEY_DIR", "/k", "SOTTO_ALLOW_LIST", "/a",
		"SOTTO_METRICS_LISTEN", "127.0.0.1:9100")))
	if err != nil {
		t.Fatal(err)
	}
	if prod.MetricsListen.String() != "127.0.0.1:9100" || len(prod.Warnings()) != 0 {
		t.Fatalf("production: metrics %v, warnings %q", prod.MetricsListen, prod.Warnings())
	}
}

func TestLocalListeners(t *testing.T) {
	for addr, local := range map[string]bool{
		"127.0.0.1:8443": true, "[::1]:8443": true, "localhost:1": true, "unix:/run/s.sock": true,
		"127.9.9.9:80": true, ":8443": false, "0.0.0.0:8443": false, "192.0.2.1:443": false, "example.org:443": false,
	} {
		var a Addr
		if err := a.UnmarshalText([]byte(addr)); err != nil {
			t.Fatalf("%s: %v", addr, err)
		}
		if a.IsLocal() != local {
			t.Errorf("IsLocal(%s) = %v", addr, !local)
		}
	}
}

func TestDotEnvPrecedence(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, ".env")
	content := "SOTTO_MODEL=/from/dotenv.gguf\nSOTTO_SLOTS=8\nSOTTO_QUEUE_DEPTH=3\n# comment\nLOG_FORMAT=\"text\"\n"
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	real := map[string]string{"SOTTO_SLOTS": "2", "UNRELATED": "x"}
	lookup, err := WithDotEnv(vars(real), path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Load(lookup)
	if err != nil {
		t.Fatal(err)
	}
	// Real environment beats the file, the file beats the defaults.
	if got.Slots != 2 || got.QueueDepth != 3 || got.Model != "/from/dotenv.gguf" || got.LogFormat != LogText || got.Context != 2048 {
		t.Fatalf("got slots=%d queue=%d model=%q format=%s context=%d", got.Slots, got.QueueDepth, got.Model, got.LogFormat, got.Context)
	}
	if _, ok := os.LookupEnv("SOTTO_QUEUE_DEPTH"); ok {
		t.Fatal("the .env file leaked into the process environment")
	}
}

func TestDotEnvMissingAndBroken(t *testing.T) {
	lookup, err := WithDotEnv(vars(base()), filepath.Join(t.TempDir(), "absent"))
	if err != nil {
		t.Fatalf("missing file: %v", err)
	}
	if got, err := Load(lookup); err != nil || got.Model != "/models/m.gguf" {
		t.Fatalf("got %q, %v", got.Model, err)
	}
	broken := filepath.Join(t.TempDir(), ".env")
	if err := os.WriteFile(broken, []byte("SOTTO_MODEL='unterminated s3cr3t\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = WithDotEnv(vars(nil), broken)
	if err == nil || err.Error() != "config: "+broken+": cannot read or parse the .env file" {
		t.Fatalf("error = %v", err)
	}
}

func TestFromProcess(t *testing.T) {
	t.Setenv("SOTTO_MODEL", "/proc/model.gguf")
	t.Setenv("SOTTO_SLOTS", "3")
	got, err := FromProcess("")
	if err != nil || got.Model != "/proc/model.gguf" || got.Slots != 3 {
		t.Fatalf("got %q %d, %v", got.Model, got.Slots, err)
	}
}

func TestVariablesAreUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, v := range Variables() {
		if v == "" || seen[v] {
			t.Fatalf("variable %q empty or repeated", v)
		}
		seen[v] = true
	}
	if len(seen) != 69 {
		t.Fatalf("%d variables", len(seen))
	}
}

// TestStreamShapeDefault: production shapes streams unless told not to;
// development does not unless told to.
func TestStreamShapeDefault(t *testing.T) {
	prod := map[string]string{"ENVIRONMENT": "production", "SOTTO_MODEL": "/m", "SOTTO_KEY_DIR": "/k",
		"SOTTO_ALLOW_LIST": "/a", "SOTTO_METRICS_LISTEN": "127.0.0.1:9100"}
	for _, c := range []struct {
		vars  map[string]string
		shape StreamShape
	}{
		{prod, ShapeConstant},
		{map[string]string{"SOTTO_MODEL": "/m"}, ShapeOff},
		{map[string]string{"SOTTO_MODEL": "/m", "SOTTO_STREAM_SHAPE": "constant"}, ShapeConstant},
	} {
		cfg, err := Load(func(n string) (string, bool) { v, ok := c.vars[n]; return v, ok })
		if err != nil || cfg.StreamShape != c.shape || (cfg.ShapeFrame() != 0) != (c.shape == ShapeConstant) {
			t.Fatalf("%v: shape %q frame %v, want %q (%v)", c.vars, cfg.StreamShape, cfg.ShapeFrame(), c.shape, err)
		}
	}
	prod["SOTTO_STREAM_SHAPE"] = "off"
	if cfg, err := Load(func(n string) (string, bool) { v, ok := prod[n]; return v, ok }); err != nil || cfg.ShapeFrame() != 0 {
		t.Fatalf("production with shape off: %v, %v", cfg.ShapeFrame(), err)
	}
}

// TestDevelopmentModelsDir: in development an unset SOTTO_MODEL is the
// first ./models/*.gguf (where make model puts one), as make run serves;
// production never guesses.
func TestDevelopmentModelsDir(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := os.Mkdir("models", 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"models/b.gguf", "models/a.gguf", "models/notes.txt"} {
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dev, err := Load(vars(map[string]string{}))
	if err != nil {
		t.Fatal(err)
	}
	if dev.Model != "./models/a.gguf" {
		t.Errorf("development model %q, want ./models/a.gguf", dev.Model)
	}
	prod, _ := Check(vars(map[string]string{"ENVIRONMENT": "production"}))
	if prod.Model != "" {
		t.Errorf("production model %q, want none", prod.Model)
	}
}
