package config

import (
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"strings"
	"time"
)

// Role is what the process does (docs/deployment.md).
type Role string

// The roles.
const (
	// RoleAll is the single node: edge, protocol and engine in one process.
	RoleAll Role = "all"
	// RoleWorker opens, generates and seals behind a router; it listens
	// only with mutual TLS.
	RoleWorker Role = "worker"
	// RoleRouter is the blind public edge: it checks and relays sealed
	// requests and streams to workers and never holds a private key.
	RoleRouter Role = "router"
)

// UnmarshalText accepts all, worker or router.
func (r *Role) UnmarshalText(b []byte) error {
	return oneOf((*string)(r), b, "must be all, worker or router", string(RoleAll), string(RoleWorker), string(RoleRouter))
}

// URLs is a comma-separated list of https base URLs (the router's
// workers), without paths, queries or credentials, each with an optional
// SPKI pin of that worker as its fragment (https://host:port#spki=PIN).
type URLs []string

// UnmarshalText parses the list; empty entries are skipped. An entry is
// kept as https://host:port, or https://host:port#spki=PIN (URLPin
// splits it).
func (u *URLs) UnmarshalText(b []byte) error {
	var out URLs
	for s := range strings.SplitSeq(string(b), ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		p, err := url.Parse(s)
		if err != nil || p.Scheme != "https" || p.Host == "" || p.User != nil ||
			(p.Path != "" && p.Path != "/") || p.RawQuery != "" || !validPinFragment(p.Fragment) {
			return reasonError("must be a comma-separated list of https://host:port URLs, each optionally with #spki=PIN")
		}
		entry := "https://" + p.Host
		if p.Fragment != "" {
			entry += "#" + p.Fragment
		}
		out = append(out, entry)
	}
	*u = out
	return nil
}

// validPinFragment accepts no fragment or spki= one SPKI pin.
func validPinFragment(f string) bool {
	if f == "" {
		return true
	}
	pin, ok := strings.CutPrefix(f, "spki=")
	var p Pins
	return ok && !strings.Contains(pin, ",") && p.UnmarshalText([]byte(pin)) == nil && len(p) == 1
}

// URLPin splits an entry of URLs into the worker's base URL and its own
// pin (nil without one).
func URLPin(entry string) (string, Pins) {
	base, frag, _ := strings.Cut(entry, "#")
	var p Pins
	if pin, ok := strings.CutPrefix(frag, "spki="); ok {
		_ = p.UnmarshalText([]byte(pin)) // checked by UnmarshalText
	}
	return base, p
}

// Pins is a comma-separated list of SPKI pins: base64 (standard or URL
// alphabet, padded or not) SHA-256 digests of certificates' public keys.
type Pins [][sha256.Size]byte

// UnmarshalText parses the list; empty entries are skipped.
func (p *Pins) UnmarshalText(b []byte) error {
	var out Pins
	for s := range strings.SplitSeq(string(b), ",") {
		s = strings.TrimRight(strings.TrimSpace(s), "=")
		if s == "" {
			continue
		}
		s = strings.NewReplacer("+", "-", "/", "_").Replace(s)
		d, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil || len(d) != sha256.Size {
			return reasonError("must be a comma-separated list of base64 SHA-256 SPKI digests")
		}
		out = append(out, [sha256.Size]byte(d))
	}
	*p = out
	return nil
}

// CircuitReset is CIRCUIT_RESET_SECONDS as a duration.
func (c *Config) CircuitReset() time.Duration {
	return time.Duration(c.BreakerResetSeconds) * time.Second
}

// HealthInterval is SOTTO_HEALTH_INTERVAL_MS as a duration.
func (c *Config) HealthInterval() time.Duration {
	return time.Duration(c.HealthIntervalMS) * time.Millisecond
}

// roleRules are the checks that depend on the role.
var roleRules = []rule{
	{"SOTTO_MODEL", func(c *Config) string {
		switch {
		case c.Role == RoleRouter && c.Model != "":
			return "must be empty for a router (it runs no model)"
		case c.Role != RoleRouter && c.Model == "" && c.Environment == Production:
			return "required in production (path of the GGUF model; development serves the embedded demo model)"
		}
		return ""
	}},
	{"SOTTO_MODEL_SHA256", func(c *Config) string {
		switch {
		case c.Role == RoleRouter && c.ModelSHA256 != "":
			return "must be empty for a router (it runs no model)"
		case c.ModelSHA256 != "" && !isSHA256Hex(c.ModelSHA256):
			return "must be 64 hexadecimal digits (the model file's sha256)"
		}
		return ""
	}},
	{"SOTTO_KEY_DIR", func(c *Config) string {
		switch {
		case c.Role == RoleRouter && c.KeyDir != "":
			return "must be empty for a router: a router never holds private keys"
		case c.Role != RoleRouter && c.KeyDir == "":
			return "required in production"
		}
		return ""
	}},
	{"INFERENCE_ENDPOINTS", func(c *Config) string {
		return onlyFor(c, RoleRouter, len(c.InferenceEndpoints) > 0, true)
	}},
	{"SOTTO_TLS_CLIENT_CA", func(c *Config) string {
		if c.Role != RoleAll && c.TLSClientCA == "" {
			return "required for a worker (router certificates) and a router (worker certificates)"
		}
		return onlyForEither(c, c.TLSClientCA != "")
	}},
	{"SOTTO_TLS_CLIENT_CERT", func(c *Config) string { return onlyFor(c, RoleRouter, c.TLSClientCert != "", true) }},
	{"SOTTO_TLS_CLIENT_KEY", func(c *Config) string { return onlyFor(c, RoleRouter, c.TLSClientKey != "", true) }},
	{"SOTTO_PEER_SPKI", func(c *Config) string { return onlyForEither(c, len(c.PeerSPKI) > 0) }},
	intRange("CIRCUIT_BREAKER_THRESHOLD", func(c *Config) int { return c.BreakerThreshold }, 1, 1000, "must be between 1 and 1000"),
	intRange("CIRCUIT_RESET_SECONDS", func(c *Config) int { return c.BreakerResetSeconds }, 1, 3600, "must be between 1 and 3600"),
	intRange("SOTTO_HEALTH_INTERVAL_MS", func(c *Config) int { return c.HealthIntervalMS }, 50, 600_000, "must be between 50 and 600000"),
	intRange("SOTTO_UPSTREAM_CONNECT_TIMEOUT_MS", func(c *Config) int { return c.UpstreamConnectMS }, 10, 60_000, "must be between 10 and 60000"),
	intRange("SOTTO_UPSTREAM_FIRST_BYTE_SECONDS", func(c *Config) int { return c.UpstreamFirstByteSec }, 1, 3600, "must be between 1 and 3600"),
	intRange("SOTTO_UPSTREAM_IDLE_SECONDS", func(c *Config) int { return c.UpstreamIdleSec }, 1, 3600, "must be between 1 and 3600"),
	intRange("SOTTO_UPSTREAM_TOTAL_SECONDS", func(c *Config) int { return c.UpstreamTotalSec }, 1, 86_400, "must be between 1 and 86400"),
	{"REDIS_URL", func(c *Config) string {
		if c.RedisURL == "" {
			return ""
		}
		if c.Role != RoleRouter {
			return "only for the router role (workers keep their own replay register)"
		}
		if !strings.HasPrefix(c.RedisURL, "redis://") && !strings.HasPrefix(c.RedisURL, "rediss://") && !strings.HasPrefix(c.RedisURL, "unix://") {
			return "must be a redis://, rediss:// or unix:// URL"
		}
		return ""
	}},
	{"SOTTO_SHARED_SECRET_FILE", func(c *Config) string {
		if c.Role == RoleRouter && c.RedisURL != "" && c.SharedSecretFile == "" {
			return "required for routers sharing REDIS_URL (rate-limit keys and proof of work must agree)"
		}
		return onlyFor(c, RoleRouter, c.SharedSecretFile != "", false)
	}},
}

// onlyFor: the setting is required (when required) for role, and refused
// for the others.
func onlyFor(c *Config, role Role, set, required bool) string {
	switch {
	case c.Role == role && required && !set:
		return "required for the " + string(role) + " role"
	case c.Role != role && set:
		return "only for the " + string(role) + " role"
	}
	return ""
}

// onlyForEither: the setting is refused on a single node.
func onlyForEither(c *Config, set bool) string {
	if c.Role == RoleAll && set {
		return "only for the worker and router roles"
	}
	return ""
}

// isSHA256Hex reports whether s is a sha256 in hex (either case).
func isSHA256Hex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, r := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return false
		}
	}
	return true
}
