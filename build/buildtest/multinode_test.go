package buildtest

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// wgNet is the tunnel's network: `sotto ops wireguard`'s default subnet.
var wgNet = netip.MustParsePrefix("10.77.0.0/24")

// env returns a unit's Environment= as a map.
func (u unit) env() map[string]string {
	m := map[string]string{}
	for _, kv := range u.environment() {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

func mustUnit(t *testing.T, name string) unit {
	t.Helper()
	u, err := parseUnit(buildFile(t, "systemd/"+name))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestMultiNodeUnits checks what the router and worker units promise
// beyond systemd-analyze: the roles, no key or model on the router, the
// worker tied to WireGuard and listening on its tunnel address, a memory
// cap on the router, both
// limited to loopback and the tunnel, and a private metrics listener.
func TestMultiNodeUnits(t *testing.T) {
	router, worker := mustUnit(t, "sotto-router.service"), mustUnit(t, "sotto-worker.service")
	renv, wenv := router.env(), worker.env()
	if renv["SOTTO_ROLE"] != "router" || wenv["SOTTO_ROLE"] != "worker" {
		t.Fatalf("roles: router unit %q, worker unit %q", renv["SOTTO_ROLE"], wenv["SOTTO_ROLE"])
	}
	for _, k := range []string{"SOTTO_KEY_DIR", "SOTTO_MODEL", "SOTTO_TLS_CERT", "SOTTO_TLS_KEY"} {
		if _, ok := renv[k]; ok {
			t.Errorf("router unit sets %s: a router holds no private key and runs no model", k)
		}
	}
	if router.last("Service.MemoryMax") == "" {
		t.Error("router unit: no MemoryMax (the public edge's heap must be bounded, issue 17 item 1)")
	}
	for _, k := range []string{"Unit.After", "Unit.Requires"} {
		if !strings.Contains(strings.Join(worker[k], " "), "wg-quick@wg0.service") {
			t.Errorf("worker unit: %s lacks wg-quick@wg0.service", k)
		}
	}
	host, _, _ := strings.Cut(wenv["SOTTO_LISTEN"], ":")
	if a, err := netip.ParseAddr(host); err != nil || !wgNet.Contains(a) {
		t.Errorf("worker SOTTO_LISTEN=%s is not on the tunnel %v", wenv["SOTTO_LISTEN"], wgNet)
	}
	for name, u := range map[string]unit{"router": router, "worker": worker} {
		env := u.env()
		if !strings.HasPrefix(env["SOTTO_METRICS_LISTEN"], "127.0.0.1:") || env["ENVIRONMENT"] != "production" {
			t.Errorf("%s unit: ENVIRONMENT=%q SOTTO_METRICS_LISTEN=%q", name, env["ENVIRONMENT"], env["SOTTO_METRICS_LISTEN"])
		}
		if u.last("Service.IPAddressDeny") != "any" || !slices.Equal(strings.Fields(u.last("Service.IPAddressAllow")), []string{"localhost", wgNet.String()}) {
			t.Errorf("%s unit: IPAddressDeny=%q IPAddressAllow=%q", name, u.last("Service.IPAddressDeny"), u.last("Service.IPAddressAllow"))
		}
		if env["SOTTO_TLS_CLIENT_CA"] != "/etc/sotto/tls/root_ca.crt" {
			t.Errorf("%s unit: SOTTO_TLS_CLIENT_CA=%q", name, env["SOTTO_TLS_CLIENT_CA"])
		}
	}
}

// TestCertRenewalUnits: the renewal template renews exactly the files
// the router and worker units read (its instance name is the role), from
// a timer of the same name, and reloads the matching server.
func TestCertRenewalUnits(t *testing.T) {
	svc := mustUnit(t, "sotto-cert-renew@.service")
	timer := mustUnit(t, "sotto-cert-renew@.timer")
	if svc.last("Service.Type") != "oneshot" || timer.last("Timer.OnUnitActiveSec") == "" || timer.last("Install.WantedBy") != "timers.target" {
		t.Fatalf("renewal units: Type=%q OnUnitActiveSec=%q WantedBy=%q", svc.last("Service.Type"),
			timer.last("Timer.OnUnitActiveSec"), timer.last("Install.WantedBy"))
	}
	for role, files := range map[string][2]string{
		"router": {"SOTTO_TLS_CLIENT_CERT", "SOTTO_TLS_CLIENT_KEY"},
		"worker": {"SOTTO_TLS_CERT", "SOTTO_TLS_KEY"},
	} {
		env := mustUnit(t, "sotto-"+role+".service").env()
		expand := func(s string) string { return strings.ReplaceAll(s, "%i", role) }
		renew := expand(svc.last("Service.ExecStart"))
		if !strings.HasSuffix(renew, " "+env[files[0]]+" "+env[files[1]]) || !strings.Contains(renew, "--root "+env["SOTTO_TLS_CLIENT_CA"]) {
			t.Errorf("%s: renewal %q does not renew %s and %s against %s", role, renew, env[files[0]], env[files[1]], env["SOTTO_TLS_CLIENT_CA"])
		}
		if !strings.HasSuffix(expand(svc.last("Service.ExecStartPost")), " sotto-"+role+".service") {
			t.Errorf("%s: renewal reloads %q", role, svc.last("Service.ExecStartPost"))
		}
		if !strings.Contains(expand(svc.last("Service.ExecCondition")), env[files[0]]) {
			t.Errorf("%s: renewal condition %q", role, svc.last("Service.ExecCondition"))
		}
	}
}
