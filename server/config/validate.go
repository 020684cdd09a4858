package config

import (
	"errors"
	"path/filepath"
	"time"
)

// Development defaults that production must set explicitly: the paths
// make run (scripts/run.sh) and sotto chat --dev use.
const (
	DevKeyDir    = "./dev/keys"
	DevAllowList = "./dev/allow-list"
	// DevModels is where make model puts models; in development the
	// first match is served when SOTTO_MODEL is unset, else the embedded
	// demo model.
	DevModels = "./models/*.gguf"
)

// applyDerivedDefaults fills defaults that depend on other settings. A
// router gets no key directory: it must never hold private keys.
func (c *Config) applyDerivedDefaults() {
	if c.StreamShape == "" {
		c.StreamShape = ShapeOff
		if c.Environment == Production {
			c.StreamShape = ShapeConstant
		}
	}
	if c.Environment != Development {
		return
	}
	if c.KeyDir == "" && c.Role != RoleRouter {
		c.KeyDir = DevKeyDir
	}
	if c.AllowList == "" && (c.DevicePolicy == AllowList || c.DevicePolicy == AttestedAllowList) {
		c.AllowList = DevAllowList
	}
	if c.Model == "" && c.Role != RoleRouter {
		if m, _ := filepath.Glob(DevModels); len(m) > 0 {
			c.Model = "./" + filepath.ToSlash(m[0])
		}
	}
}

// rule is one check; fail reports the reason, or "" when it holds.
type rule struct {
	name string
	fail func(c *Config) string
}

// intRange checks min <= v <= max.
func intRange(name string, v func(c *Config) int, lo, hi int, reason string) rule {
	return rule{name, func(c *Config) string {
		if x := v(c); x < lo || x > hi {
			return reason
		}
		return ""
	}}
}

// rules lists every check in variable order. Ranges are wide: they catch
// typos and nonsense, not tuning choices.
var rules = []rule{
	intRange("REQUEST_TTL_SECONDS", func(c *Config) int { return c.RequestTTLSeconds }, 1, 3600, "must be between 1 and 3600"),
	intRange("RATE_LIMIT_PER_MINUTE", func(c *Config) int { return c.RateLimitPerMinute }, 1, 1_000_000, "must be between 1 and 1000000"),
	intRange("RATE_LIMIT_BURST", func(c *Config) int { return c.RateLimitBurst }, 1, 1_000_000, "must be between 1 and 1000000"),
	intRange("IP_RATE_LIMIT_PER_MINUTE", func(c *Config) int { return c.IPRateLimitPerMinute }, 1, 1_000_000, "must be between 1 and 1000000"),
	intRange("IP_RATE_LIMIT_BURST", func(c *Config) int { return c.IPRateLimitBurst }, 1, 1_000_000, "must be between 1 and 1000000"),
	{"SOTTO_LISTEN", func(c *Config) string {
		if !c.Listen.IsSet() {
			return "must not be empty"
		}
		return ""
	}},
	{"SOTTO_TLS_CERT", func(c *Config) string { return tlsPair(c, c.TLSCert) }},
	{"SOTTO_TLS_KEY", func(c *Config) string { return tlsPair(c, c.TLSKey) }},
	{"SOTTO_METRICS_LISTEN", func(c *Config) string {
		switch {
		case c.MetricsListen.IsSet() && c.MetricsListen == c.Listen:
			return "must differ from SOTTO_LISTEN (metrics never share the public listener)"
		case !c.MetricsListen.IsSet() && c.Environment == Production:
			// Live KV cells and token counters give an observer the exact
			// token counts of a lone request, defeating the padding.
			return "required in production (/metrics is never served on the public listener)"
		}
		return ""
	}},
	{"SOTTO_DEVICE_POLICY", func(c *Config) string {
		if c.DevicePolicy == Open && c.Environment == Production {
			return "open is refused in production (use allowlist)"
		}
		return ""
	}},
	{"SOTTO_ALLOW_LIST", func(c *Config) string {
		if c.DevicePolicy == AllowList && c.AllowList == "" {
			return "required when SOTTO_DEVICE_POLICY is allowlist"
		}
		return ""
	}},
	intRange("SOTTO_SLOTS", func(c *Config) int { return c.Slots }, 1, 256, "must be between 1 and 256"),
	intRange("SOTTO_CONTEXT", func(c *Config) int { return c.Context }, 64, 1<<20, "must be between 64 and 1048576"),
	intRange("SOTTO_QUEUE_DEPTH", func(c *Config) int { return c.QueueDepth }, 0, 100_000, "must be between 0 and 100000"),
	intRange("SOTTO_PROMPT_CHUNK", func(c *Config) int { return c.PromptChunk }, 1, 512, "must be between 1 and 512"),
	intRange("SOTTO_STEP_TOKENS", func(c *Config) int { return c.StepTokens }, 0, 512, "must be between 0 (no limit) and 512"),
	intRange("SOTTO_THREADS", func(c *Config) int { return c.Threads }, 0, 1024, "must be between 0 (all cores) and 1024"),
	intRange("MAX_BODY_BYTES", func(c *Config) int { return c.MaxBodyBytes }, MinBodyBytes, DefaultMaxBodyBytes, "must be between 336 and 263312 (the protocol's largest request)"),
	intRange("MAX_TOKENS_CAP", func(c *Config) int { return c.MaxTokensCap }, 1, 1<<20, "must be between 1 and 1048576"),
	{"DEFAULT_MAX_TOKENS", func(c *Config) string {
		if c.DefaultMaxTokens < 1 || c.DefaultMaxTokens > c.MaxTokensCap {
			return "must be between 1 and MAX_TOKENS_CAP"
		}
		return ""
	}},
	intRange("MAX_STREAMS_PER_DEVICE", func(c *Config) int { return c.MaxStreamsPerDevice }, 1, 1000, "must be between 1 and 1000"),
	intRange("SOTTO_PAD_QUANTUM", func(c *Config) int { return c.PadQuantum }, 1, 4096, "must be between 1 and 4096"),
	intRange("SOTTO_COALESCE_MS", func(c *Config) int { return c.CoalesceMS }, 0, 10_000, "must be between 0 (per token) and 10000"),
	intRange("SOTTO_STREAM_FRAME_MS", func(c *Config) int { return c.StreamFrameMS }, 1, 1000, "must be between 1 and 1000"),
	intRange("SOTTO_METRICS_BATCH", func(c *Config) int { return c.MetricsBatch }, 1, 100_000, "must be between 1 (live) and 100000"),
	intRange("SOTTO_WRITE_TIMEOUT_SECONDS", func(c *Config) int { return c.WriteTimeoutSeconds }, 1, 3600, "must be between 1 and 3600"),
	{"SOTTO_INFLIGHT_BODY_BYTES", func(c *Config) string {
		if c.InflightBodyBytes < c.MaxBodyBytes || c.InflightBodyBytes > 1<<34 {
			return "must be between MAX_BODY_BYTES and 17179869184"
		}
		return ""
	}},
	{"SOTTO_PREFIX_CACHE_BYTES", func(c *Config) string {
		if c.PrefixCacheBytes < 0 || c.PrefixCacheBytes > 1<<40 {
			return "must be between 0 (off) and 1099511627776"
		}
		return ""
	}},
	intRange("SOTTO_PREFIX_CACHE_DEVICES", func(c *Config) int { return c.PrefixCacheDevices }, 1, 4096, "must be between 1 and 4096"),
	intRange("SOTTO_PREFIX_CACHE_MAX_TTL_SECONDS", func(c *Config) int { return c.PrefixCacheMaxTTLSeconds }, 1, 86400, "must be between 1 and 86400"),
	intRange("POW_BITS", func(c *Config) int { return c.PoWBits }, 1, 32, "must be between 1 and 32"),
	{"POW_AUTO_THRESHOLD", func(c *Config) string {
		if !(c.PoWAutoThreshold > 0 && c.PoWAutoThreshold <= 1) {
			return "must be greater than 0 and at most 1 (a fraction of capacity)"
		}
		return ""
	}},
	intRange("SHUTDOWN_GRACE_SECONDS", func(c *Config) int { return c.ShutdownGraceSeconds }, 0, 3600, "must be between 0 and 3600"),
	intRange("REPLAY_REGISTER_SIZE", func(c *Config) int { return c.ReplayRegisterSize }, 1, 100_000_000, "must be between 1 and 100000000"),
}

// tlsPair requires a certificate and key unless the listener is local
// (loopback or UNIX socket, where a reverse proxy terminates TLS), and
// refuses half a pair.
func tlsPair(c *Config, v string) string {
	both, none := c.TLSCert != "" && c.TLSKey != "", c.TLSCert == "" && c.TLSKey == ""
	switch {
	case none && c.Role == RoleWorker:
		return "required for a worker (it listens only with mutual TLS)"
	case both || (none && c.Listen.IsLocal()):
		return ""
	case none:
		return "required unless SOTTO_LISTEN is a loopback address or unix socket"
	case v == "":
		return "required when the other half of the TLS pair is set"
	}
	return ""
}

// Validate checks the settings. Load calls it; call it again after
// changing a Config (for example from command-line flags). The error
// joins one *VarError per broken rule, in variable order.
func (c *Config) Validate() error {
	var errs []error
	for _, r := range append(append(rules, roleRules...), enrolRules...) {
		if reason := r.fail(c); reason != "" {
			errs = append(errs, &VarError{Var: r.name, Reason: reason})
		}
	}
	return errors.Join(errs...)
}

// RequestTTL is REQUEST_TTL_SECONDS as a duration.
func (c *Config) RequestTTL() time.Duration { return time.Duration(c.RequestTTLSeconds) * time.Second }

// Coalesce is SOTTO_COALESCE_MS as a duration; 0 sends every token.
func (c *Config) Coalesce() time.Duration { return time.Duration(c.CoalesceMS) * time.Millisecond }

// StreamFrame is SOTTO_STREAM_FRAME_MS as a duration: the cadence of a
// shaped stream's frames.
func (c *Config) StreamFrame() time.Duration {
	return time.Duration(c.StreamFrameMS) * time.Millisecond
}

// ShapeFrame is the frame interval of shaped streams, 0 when
// SOTTO_STREAM_SHAPE is off.
func (c *Config) ShapeFrame() time.Duration {
	if c.StreamShape != ShapeConstant {
		return 0
	}
	return c.StreamFrame()
}

// WriteTimeout is SOTTO_WRITE_TIMEOUT_SECONDS as a duration: the longest
// one write and flush of a stream may block on a client that stops
// reading.
func (c *Config) WriteTimeout() time.Duration {
	return time.Duration(c.WriteTimeoutSeconds) * time.Second
}

// Warnings lists settings that are allowed but unsafe outside a
// developer's machine; the process logs each at start. Like errors, they
// name variables, never values.
func (c *Config) Warnings() []string {
	var w []string
	if !c.MetricsListen.IsSet() {
		w = append(w, "SOTTO_METRICS_LISTEN unset: /metrics is served on the public listener (development only)")
	}
	return w
}

// PrefixCacheMaxTTL is SOTTO_PREFIX_CACHE_MAX_TTL_SECONDS as a duration:
// the cap on a request's cache ttl.
func (c *Config) PrefixCacheMaxTTL() time.Duration {
	return time.Duration(c.PrefixCacheMaxTTLSeconds) * time.Second
}

// ShutdownGrace is SHUTDOWN_GRACE_SECONDS as a duration.
func (c *Config) ShutdownGrace() time.Duration {
	return time.Duration(c.ShutdownGraceSeconds) * time.Second
}

// TLSEnabled reports whether the public listener serves HTTPS itself.
func (c *Config) TLSEnabled() bool { return c.TLSCert != "" && c.TLSKey != "" }
