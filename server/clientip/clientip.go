// Package clientip finds the client address of an HTTP request: the peer
// address, or, when the peer is a trusted proxy, the rightmost address in
// X-Forwarded-For that is not itself a trusted proxy. Everything to the
// left of that hop was written by the client and is ignored, so a client
// cannot pick its own rate-limit bucket.
//
// The address is used as a rate-limit key only (hashed, see
// server/ratelimit.SealedKeyer); it is never logged.
//
// A Resolver is immutable and safe for concurrent use.
package clientip

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ErrNoAddress is returned when the peer has no IP address (a UNIX socket
// peer without trust) and no trusted hop supplied one.
var ErrNoAddress = errors.New("clientip: no client address")

// maxHops bounds the X-Forwarded-For entries examined, so a huge header
// costs little; a real chain of proxies is a handful of hops.
const maxHops = 32

// Resolver maps requests to client addresses.
type Resolver struct {
	trusted   []netip.Prefix
	trustUnix bool
}

// New returns a Resolver trusting X-Forwarded-For from peers inside the
// trusted prefixes. With trustUnix, a peer on a UNIX socket (a local
// reverse proxy such as Caddy; the socket's permissions decide who may
// connect) is trusted as well.
func New(trusted []netip.Prefix, trustUnix bool) *Resolver {
	ps := make([]netip.Prefix, len(trusted))
	for i, p := range trusted {
		ps[i] = p.Masked()
	}
	return &Resolver{trusted: ps, trustUnix: trustUnix}
}

// ParsePrefixes parses CIDR prefixes; a bare address is a single-host
// prefix. Errors name the position of the bad entry, not its text.
func ParsePrefixes(list []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(list))
	for i, s := range list {
		p, err := ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("clientip: entry %d: %w", i+1, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// ParsePrefix parses one CIDR prefix or bare address.
func ParsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, errors.New("not a CIDR prefix")
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, errors.New("not an IP address or CIDR prefix")
	}
	a = a.Unmap().WithZone("")
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// ClientIP returns the client address of r.
func (rv *Resolver) ClientIP(r *http.Request) (netip.Addr, error) {
	return rv.Resolve(r.RemoteAddr, r.Header.Values("X-Forwarded-For"))
}

// Resolve returns the client address for a peer address (net/http's
// RemoteAddr: "ip:port", or "" / "@" for a UNIX socket peer) and the
// X-Forwarded-For header lines in order.
func (rv *Resolver) Resolve(remoteAddr string, xff []string) (netip.Addr, error) {
	peer, isIP := parsePeer(remoteAddr)
	switch {
	case isIP && !rv.isTrusted(peer):
		return peer, nil
	case !isIP && !rv.trustUnix:
		return netip.Addr{}, ErrNoAddress
	}
	// The peer is a trusted proxy: walk its X-Forwarded-For from the
	// right. last is the nearest address vouched for so far.
	last := peer
	hops := splitHops(xff)
	for i := len(hops) - 1; i >= 0 && len(hops)-i <= maxHops; i-- {
		a, ok := parseHop(hops[i])
		if !ok {
			break // garbage beyond a trusted hop: keep the hop that added it
		}
		if !rv.isTrusted(a) {
			return a, nil
		}
		last = a
	}
	if !last.IsValid() {
		return netip.Addr{}, ErrNoAddress
	}
	return last, nil
}

func (rv *Resolver) isTrusted(a netip.Addr) bool {
	for _, p := range rv.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// parsePeer parses "ip:port" (or a bare ip); ok is false for anything
// else, which net/http produces for UNIX socket peers.
func parsePeer(remoteAddr string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(remoteAddr); err == nil {
		return normalize(ap.Addr()), true
	}
	if a, err := netip.ParseAddr(remoteAddr); err == nil {
		return normalize(a), true
	}
	return netip.Addr{}, false
}

// splitHops flattens X-Forwarded-For lines into hops, leftmost first.
func splitHops(lines []string) []string {
	var hops []string
	for _, l := range lines {
		for h := range strings.SplitSeq(l, ",") {
			hops = append(hops, strings.TrimSpace(h))
		}
	}
	return hops
}

// parseHop accepts "ip", "ip:port" and "[ipv6]:port".
func parseHop(h string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(h); err == nil {
		return normalize(a), true
	}
	host, _, err := net.SplitHostPort(h)
	if err != nil {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	return normalize(a), true
}

// normalize unmaps IPv4-in-IPv6 and drops zones, so one client has one
// spelling.
func normalize(a netip.Addr) netip.Addr { return a.Unmap().WithZone("") }

// KeyPrefix returns the network a client address is limited as: the
// address itself for IPv4, its /64 for IPv6, since one IPv6 subscriber
// usually holds a whole /64 and could otherwise rotate addresses freely.
func KeyPrefix(a netip.Addr) netip.Prefix {
	a = normalize(a)
	if a.Is4() {
		return netip.PrefixFrom(a, 32)
	}
	p, _ := a.Prefix(64) // cannot fail for an IPv6 address
	return p
}
