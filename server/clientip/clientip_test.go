package clientip

import (
	"errors"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	trusted, err := ParsePrefixes([]string{"10.0.0.0/8", " 192.168.1.7 ", "fd00::/8"})
	if err != nil {
		t.Fatal(err)
	}
	rv := New(trusted, false)
	rvUnix := New(trusted, true)
	tests := []struct {
		name   string
		rv     *Resolver
		remote string
		xff    []string
		want   string
		err    error
	}{
		{"untrusted peer ignores xff", rv, "203.0.113.5:4431", []string{"1.1.1.1"}, "203.0.113.5", nil},
		{"trusted peer no xff", rv, "10.1.2.3:80", nil, "10.1.2.3", nil},
		{"trusted peer one hop", rv, "10.1.2.3:80", []string{"198.51.100.9"}, "198.51.100.9", nil},
		{"rightmost untrusted wins", rv, "10.1.2.3:80", []string{"6.6.6.6, 198.51.100.9"}, "198.51.100.9", nil},
		{"skips trusted hops", rv, "10.1.2.3:80", []string{"6.6.6.6, 198.51.100.9, 192.168.1.7, 10.9.9.9"}, "198.51.100.9", nil},
		{"multiple header lines", rv, "10.1.2.3:80", []string{"6.6.6.6", "198.51.100.9,10.0.0.2"}, "198.51.100.9", nil},
		{"all trusted: leftmost", rv, "10.1.2.3:80", []string{"10.0.0.9, 192.168.1.7"}, "10.0.0.9", nil},
		{"garbage after trusted keeps trusted hop", rv, "10.1.2.3:80", []string{"198.51.100.9, not-an-ip, 10.0.0.4"}, "10.0.0.4", nil},
		{"garbage rightmost keeps peer", rv, "10.1.2.3:80", []string{"1.2.3.4, junk"}, "10.1.2.3", nil},
		{"hop with port", rv, "10.1.2.3:80", []string{"198.51.100.9:5555"}, "198.51.100.9", nil},
		{"ipv6 hop with port", rv, "10.1.2.3:80", []string{"[2001:db8::1]:443"}, "2001:db8::1", nil},
		{"ipv6 peer", rv, "[2001:db8::2]:443", nil, "2001:db8::2", nil},
		{"trusted ipv6 peer", rv, "[fd00::1]:443", []string{"2001:db8::3"}, "2001:db8::3", nil},
		{"mapped ipv4 peer is trusted", rv, "[::ffff:10.0.0.1]:80", []string{"198.51.100.9"}, "198.51.100.9", nil},
		{"mapped hop unmapped", rv, "10.0.0.1:80", []string{"::ffff:198.51.100.9"}, "198.51.100.9", nil},
		{"zone dropped", rv, "[fe80::1%eth0]:80", nil, "fe80::1", nil},
		{"unix peer untrusted", rv, "@", []string{"198.51.100.9"}, "", ErrNoAddress},
		{"unix peer empty addr untrusted", rv, "", nil, "", ErrNoAddress},
		{"unix peer trusted", rvUnix, "@", []string{"6.6.6.6, 198.51.100.9"}, "198.51.100.9", nil},
		{"unix peer trusted no xff", rvUnix, "", nil, "", ErrNoAddress},
		{"unix peer trusted garbage xff", rvUnix, "", []string{"junk"}, "", ErrNoAddress},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.rv.Resolve(tt.remote, tt.xff)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if tt.err == nil && got.String() != tt.want {
				t.Fatalf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestClientIPFromRequest(t *testing.T) {
	rv := New([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, false)
	r := httptest.NewRequest("POST", "/api/chat", nil)
	r.RemoteAddr = "127.0.0.1:1234"
	r.Header.Add("X-Forwarded-For", "198.51.100.1")
	r.Header.Add("X-Forwarded-For", "198.51.100.2")
	got, err := rv.ClientIP(r)
	if err != nil || got != netip.MustParseAddr("198.51.100.2") {
		t.Fatalf("got %v, %v", got, err)
	}
}

func TestMaxHops(t *testing.T) {
	rv := New([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, false)
	hops := []string{"198.51.100.1"}
	for range maxHops + 5 {
		hops = append(hops, "10.0.0.3")
	}
	got, err := rv.Resolve("10.0.0.1:1", []string{strings.Join(hops, ",")})
	if err != nil || got != netip.MustParseAddr("10.0.0.3") {
		t.Fatalf("got %v, %v", got, err)
	}
}

func TestParsePrefixes(t *testing.T) {
	got, err := ParsePrefixes([]string{"10.1.2.3/8", "::1", "::ffff:1.2.3.4"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.0.0.0/8", "::1/128", "1.2.3.4/32"}
	for i := range want {
		if got[i].String() != want[i] {
			t.Errorf("[%d] = %s, want %s", i, got[i], want[i])
		}
	}
	for in, msg := range map[string]string{
		"10.0.0.0/33":  "clientip: entry 2: not a CIDR prefix",
		"secret-host":  "clientip: entry 2: not an IP address or CIDR prefix",
		"10.0.0.0/8/1": "clientip: entry 2: not a CIDR prefix",
	} {
		_, err := ParsePrefixes([]string{"10.0.0.0/8", in})
		if err == nil || err.Error() != msg {
			t.Errorf("ParsePrefixes(%q) error = %v, want %q", in, err, msg)
		}
	}
}

func TestKeyPrefix(t *testing.T) {
	for in, want := range map[string]string{
		"198.51.100.7":         "198.51.100.7/32",
		"::ffff:198.51.100.7":  "198.51.100.7/32",
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::1": "2001:db8:1:2::/64",
	} {
		if got := KeyPrefix(netip.MustParseAddr(in)).String(); got != want {
			t.Errorf("KeyPrefix(%s) = %s, want %s", in, got, want)
		}
	}
}
