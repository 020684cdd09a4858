package config

import (
	"encoding"
	"net"
	"net/netip"
	"strings"

	"github.com/sottolabs/sotto/server/clientip"
)

// reasonError is a parse failure whose text is safe to show: it explains
// the rule, never the input.
type reasonError string

func (e reasonError) Error() string { return string(e) }

// Environment is development or production. Production refuses settings
// meant only for a developer's machine.
type Environment string

// The environments.
const (
	Development Environment = "development"
	Production  Environment = "production"
)

// UnmarshalText accepts development or production.
func (e *Environment) UnmarshalText(b []byte) error {
	return oneOf((*string)(e), b, "must be development or production", string(Development), string(Production))
}

// StreamShape is the reply streams' traffic shape (docs/protocol.md 5.5).
type StreamShape string

// The stream shapes.
const (
	// ShapeOff sends text as it is generated (or coalesced).
	ShapeOff StreamShape = "off"
	// ShapeConstant sends fixed-size frames at a fixed cadence, padded to
	// a length bucket, to clients that asked for it.
	ShapeConstant StreamShape = "constant"
)

// UnmarshalText accepts off or constant.
func (s *StreamShape) UnmarshalText(b []byte) error {
	return oneOf((*string)(s), b, "must be off or constant", string(ShapeOff), string(ShapeConstant))
}

// DevicePolicy decides which devices may send requests.
type DevicePolicy string

// The device policies.
const (
	// AllowList accepts only devices enrolled in SOTTO_ALLOW_LIST.
	AllowList DevicePolicy = "allowlist"
	// Open accepts any device with a valid signature (development only).
	Open DevicePolicy = "open"
	// Attested accepts devices holding a valid enrolment credential
	// (docs/enrolment.md).
	Attested DevicePolicy = "attested"
	// AttestedAllowList accepts enrolled devices that are also listed in
	// SOTTO_ALLOW_LIST (a team's own devices).
	AttestedAllowList DevicePolicy = "attested+allowlist"
)

// UnmarshalText accepts allowlist, open, attested or attested+allowlist.
func (p *DevicePolicy) UnmarshalText(b []byte) error {
	return oneOf((*string)(p), b, "must be allowlist, open, attested or attested+allowlist",
		string(AllowList), string(Open), string(Attested), string(AttestedAllowList))
}

// IsAttested reports whether the policy needs an enrolment credential.
func (p DevicePolicy) IsAttested() bool { return p == Attested || p == AttestedAllowList }

// PoWMode decides when requests must carry proof of work.
type PoWMode string

// The proof-of-work modes.
const (
	PoWOff    PoWMode = "off"
	PoWAlways PoWMode = "always"
	// PoWAuto demands proof of work while load exceeds POW_AUTO_THRESHOLD.
	PoWAuto PoWMode = "auto"
)

// UnmarshalText accepts off, always or auto.
func (m *PoWMode) UnmarshalText(b []byte) error {
	return oneOf((*string)(m), b, "must be off, always or auto", string(PoWOff), string(PoWAlways), string(PoWAuto))
}

// LogFormat is the log encoding.
type LogFormat string

// The log formats.
const (
	LogJSON LogFormat = "json"
	LogText LogFormat = "text"
	// LogAuto is text for a person at a terminal in development, JSON
	// everywhere else (under systemd, in production, into a pipe).
	LogAuto LogFormat = "auto"
)

// UnmarshalText accepts json, text or auto.
func (f *LogFormat) UnmarshalText(b []byte) error {
	return oneOf((*string)(f), b, "must be json, text or auto", string(LogJSON), string(LogText), string(LogAuto))
}

func oneOf(dst *string, b []byte, reason string, allowed ...string) error {
	s := strings.ToLower(strings.TrimSpace(string(b)))
	for _, a := range allowed {
		if s == a {
			*dst = a
			return nil
		}
	}
	return reasonError(reason)
}

// Addr is a listen address: "host:port" for TCP, or "unix:/path" for a
// UNIX socket. The zero Addr means "not set".
type Addr struct {
	Network string // "tcp" or "unix"; empty when not set
	Address string // host:port, or the socket path
}

// UnmarshalText parses "host:port" or "unix:/path".
func (a *Addr) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "" {
		*a = Addr{}
		return nil
	}
	if path, ok := strings.CutPrefix(s, "unix:"); ok {
		if !strings.HasPrefix(path, "/") {
			return reasonError("unix socket path must be absolute (unix:/path)")
		}
		*a = Addr{Network: "unix", Address: path}
		return nil
	}
	if _, port, err := net.SplitHostPort(s); err != nil || port == "" {
		return reasonError("must be host:port or unix:/path")
	}
	*a = Addr{Network: "tcp", Address: s}
	return nil
}

// String returns the address in the form UnmarshalText reads.
func (a Addr) String() string {
	if a.Network == "unix" {
		return "unix:" + a.Address
	}
	return a.Address
}

// IsSet reports whether the address was given.
func (a Addr) IsSet() bool { return a.Network != "" }

// IsLocal reports whether only this host can reach the listener: a UNIX
// socket, or a TCP address whose host is localhost or a loopback IP. An
// empty host (all interfaces) is not local.
func (a Addr) IsLocal() bool {
	if a.Network == "unix" {
		return true
	}
	host, _, err := net.SplitHostPort(a.Address)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// Prefixes is a comma-separated list of CIDR prefixes or bare addresses.
type Prefixes []netip.Prefix

// UnmarshalText parses the list; empty entries are skipped.
func (p *Prefixes) UnmarshalText(b []byte) error {
	var out Prefixes
	for s := range strings.SplitSeq(string(b), ",") {
		if strings.TrimSpace(s) == "" {
			continue
		}
		pf, err := clientip.ParsePrefix(s)
		if err != nil {
			return reasonError("must be a comma-separated list of CIDR prefixes or IP addresses")
		}
		out = append(out, pf)
	}
	*p = out
	return nil
}

var (
	_ encoding.TextUnmarshaler = (*Environment)(nil)
	_ encoding.TextUnmarshaler = (*DevicePolicy)(nil)
	_ encoding.TextUnmarshaler = (*PoWMode)(nil)
	_ encoding.TextUnmarshaler = (*LogFormat)(nil)
	_ encoding.TextUnmarshaler = (*Addr)(nil)
	_ encoding.TextUnmarshaler = (*Prefixes)(nil)
	_ encoding.TextUnmarshaler = (*Role)(nil)
	_ encoding.TextUnmarshaler = (*URLs)(nil)
	_ encoding.TextUnmarshaler = (*Pins)(nil)
	_ encoding.TextUnmarshaler = (*Words)(nil)
)
