package load

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
)

// ErrPublicTarget is returned by CheckTarget for a server outside
// loopback and private addresses.
var ErrPublicTarget = errors.New("load: target is not a loopback or private address")

// CheckTarget refuses a base URL whose host is, or resolves to, an
// address outside loopback and private ranges (RFC 1918, RFC 4193):
// a load test is an attack on a server one does not run. allowPublic
// lifts the check.
func CheckTarget(ctx context.Context, base string, allowPublic bool) error {
	u, err := url.Parse(base)
	if err != nil || u.Hostname() == "" {
		return fmt.Errorf("load: target %q is not an absolute URL", base)
	}
	if allowPublic {
		return nil
	}
	host := u.Hostname()
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = append(addrs, a)
	} else {
		ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		if err != nil {
			return fmt.Errorf("load: resolve the target: %w", err)
		}
		addrs = ips
	}
	for _, a := range addrs {
		a = a.Unmap()
		if !a.IsLoopback() && !a.IsPrivate() {
			return fmt.Errorf("%w: %s (pass the flag that allows public targets to test a server you run)", ErrPublicTarget, a)
		}
	}
	return nil
}
