package main

import (
	"bufio"
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sottolabs/sotto/internal/testenv"
	"github.com/sottolabs/sotto/server/config"
)

// wgSection is one [Interface] or [Peer] of a wg-quick file.
type wgSection struct {
	name string
	kv   map[string]string
}

// parseWGConf reads a wg-quick file: comments, sections, key = value.
func parseWGConf(t *testing.T, path string) []wgSection {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []wgSection
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#':
		case line[0] == '[':
			out = append(out, wgSection{name: strings.Trim(line, "[]"), kv: map[string]string{}})
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || len(out) == 0 {
				t.Fatalf("%s: not a key = value line in a section: %q", path, line)
			}
			out[len(out)-1].kv[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return out
}

func newTestPlan(t *testing.T, workers int) wgPlan {
	t.Helper()
	eps := make([]string, workers)
	for i := range eps {
		eps[i] = "worker" + string(rune('a'+i)) + ".example.org:51820"
	}
	return wgPlan{Workers: workers, RouterEndpoint: "router.example.org:51820", WorkerEndpoints: eps,
		Subnet: netip.MustParsePrefix(defaultWGSubnet), ListenPort: defaultWGListenPort, WorkerPort: defaultWorkerPort}
}

// TestOpsWireGuardFiles generates a router and three workers and checks
// every file: modes, addresses, that each side's peer public key is the
// other side's private key's (derived by `wg pubkey` when wireguard-tools
// is installed), the shared preshared keys, the endpoints, that wg-quick
// parses each file, and the role environment files.
func TestOpsWireGuardFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "wg")
	p := newTestPlan(t, 3)
	files, err := writeWireGuard(dir, p, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2+2*3 {
		t.Fatalf("wrote %d files: %v", len(files), files)
	}
	checkModes(t, dir)
	router := parseWGConf(t, filepath.Join(dir, "router", "wg0.conf"))
	if len(router) != 4 || router[0].name != "Interface" || router[0].kv["Address"] != "10.77.0.1/24" || router[0].kv["ListenPort"] != "51820" {
		t.Fatalf("router wg0.conf: %+v", router)
	}
	routerPub := publicKey(t, router[0].kv["PrivateKey"])
	seen := map[string]bool{router[0].kv["PrivateKey"]: true}
	for i := 1; i <= 3; i++ {
		n := string(rune('0' + i))
		w := parseWGConf(t, filepath.Join(dir, "worker-"+n, "wg0.conf"))
		want := map[string]string{"Address": "10.77.0.1" + n + "/24", "ListenPort": "51820"}
		wantPeer := map[string]string{"PublicKey": routerPub, "PresharedKey": router[i].kv["PresharedKey"],
			"AllowedIPs": "10.77.0.1/32", "Endpoint": "router.example.org:51820", "PersistentKeepalive": "25"}
		if len(w) != 2 || !subset(want, w[0].kv) || w[1].name != "Peer" || !subset(wantPeer, w[1].kv) {
			t.Errorf("worker %s wg0.conf: %+v", n, w)
			continue
		}
		wantRouterPeer := map[string]string{"PublicKey": publicKey(t, w[0].kv["PrivateKey"]),
			"AllowedIPs": "10.77.0.1" + n + "/32", "Endpoint": p.WorkerEndpoints[i-1]}
		if !subset(wantRouterPeer, router[i].kv) {
			t.Errorf("router's peer %s = %v, want %v", n, router[i].kv, wantRouterPeer)
		}
		for _, k := range []string{w[0].kv["PrivateKey"], w[1].kv["PresharedKey"]} {
			if seen[k] || len(decodeKey(t, k)) != 32 {
				t.Errorf("worker %s: key reused or not 32 bytes", n)
			}
			seen[k] = true
		}
		wantFile(t, filepath.Join(dir, "worker-"+n, "worker.env"), "SOTTO_LISTEN=10.77.0.1"+n+":8443\nSOTTO_METRICS_LISTEN=10.77.0.1"+n+":9100\n")
	}
	wantFile(t, filepath.Join(dir, "router", "router.env"),
		"INFERENCE_ENDPOINTS=https://10.77.0.11:8443,https://10.77.0.12:8443,https://10.77.0.13:8443\n")
	wgQuickStrip(t, files)
}

func subset(want, got map[string]string) bool {
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

func decodeKey(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("key is not base64: %v", err)
	}
	return b
}

// publicKey derives the public key of a base64 private key with `wg
// pubkey`, or with crypto/ecdh when wireguard-tools is not installed
// (required in CI).
func publicKey(t *testing.T, private string) string {
	t.Helper()
	raw := decodeKey(t, private)
	if raw[0]&7 != 0 || raw[31]&128 != 0 || raw[31]&64 == 0 {
		t.Errorf("private key not clamped as wg genkey's")
	}
	if wg, err := exec.LookPath("wg"); err == nil {
		cmd := exec.Command(wg, "pubkey")
		cmd.Stdin = strings.NewReader(private + "\n")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("wg pubkey: %v", err)
		}
		return strings.TrimSpace(string(out))
	} else if testenv.InCI() {
		t.Fatal("wg not found: .ci/run must install the Debian package wireguard-tools")
	}
	k, err := ecdh.X25519().NewPrivateKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(k.PublicKey().Bytes())
}

// wgQuickStrip runs `wg-quick strip` on every wg0.conf: wg-quick parses
// the file and keeps the settings wg setconf takes, which must be all but
// Address (wg-quick's own).
func wgQuickStrip(t *testing.T, files []string) {
	t.Helper()
	wgQuick, err := exec.LookPath("wg-quick")
	if err != nil {
		if testenv.InCI() {
			t.Fatal("wg-quick not found: .ci/run must install the Debian package wireguard-tools")
		}
		t.Log("wg-quick not found (apt-get install wireguard-tools); wg-quick strip not run")
		return
	}
	for _, f := range files {
		if filepath.Base(f) != "wg0.conf" {
			continue
		}
		out, err := exec.Command(wgQuick, "strip", f).CombinedOutput()
		if err != nil {
			t.Fatalf("wg-quick strip %s: %v\n%s", f, err, out)
		}
		data, _ := os.ReadFile(f)
		var want []string
		for _, l := range settingLines(string(data)) {
			if !strings.HasPrefix(l, "Address") {
				want = append(want, l)
			}
		}
		if got := settingLines(string(out)); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("wg-quick strip %s kept:\n%s\nwant:\n%s", f, out, strings.Join(want, "\n"))
		}
	}
}

// settingLines returns the section and key = value lines of a wg-quick
// file, without comments and blank lines.
func settingLines(s string) []string {
	var out []string
	for line := range strings.Lines(s) {
		if l := strings.TrimSpace(line); l != "" && l[0] != '#' {
			out = append(out, l)
		}
	}
	return out
}

func wantFile(t *testing.T, path, suffix string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil || !strings.HasSuffix(string(data), suffix) {
		t.Errorf("%s = %q (%v), want it to end with %q", path, data, err, suffix)
	}
}

// checkModes requires 0700 directories and 0600 files below dir.
func checkModes(t *testing.T, dir string) {
	t.Helper()
	err := filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		want := os.FileMode(0o600)
		if info.IsDir() {
			want = 0o700 | os.ModeDir
		}
		if info.Mode() != want {
			t.Errorf("%s: mode %v, want %v", path, info.Mode(), want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestOpsWireGuardRefuses: a bad plan or a non-empty directory writes
// nothing and says why.
func TestOpsWireGuardRefuses(t *testing.T) {
	full := t.TempDir()
	if err := os.WriteFile(filepath.Join(full, "wg0.conf"), []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	mut := func(f func(*wgPlan)) wgPlan { p := newTestPlan(t, 2); f(&p); return p }
	for name, c := range map[string]struct {
		plan wgPlan
		dir  string
		want string
	}{
		"no workers":     {mut(func(p *wgPlan) { p.Workers = 0; p.WorkerEndpoints = nil }), "", "--workers must be between 1 and 200"},
		"no endpoints":   {mut(func(p *wgPlan) { p.RouterEndpoint = ""; p.WorkerEndpoints = nil }), "", "give --router-endpoint"},
		"endpoint count": {mut(func(p *wgPlan) { p.WorkerEndpoints = p.WorkerEndpoints[:1] }), "", "1 --worker-endpoint for 2 workers"},
		"bad endpoint":   {mut(func(p *wgPlan) { p.RouterEndpoint = "router.example.org" }), "", `endpoint "router.example.org" is not host:port`},
		"small subnet":   {mut(func(p *wgPlan) { p.Subnet = netip.MustParsePrefix("10.77.0.0/25") }), "", "--subnet must be"},
		"non-empty out":  {newTestPlan(t, 2), full, "is not empty; refusing to overwrite keys"},
	} {
		dir := cmpDir(c.dir, t)
		_, err := writeWireGuard(dir, c.plan, rand.Reader)
		if !errors.Is(err, errWGPlan) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
		if entries, _ := os.ReadDir(dir); dir != full && len(entries) != 0 {
			t.Errorf("%s: wrote %d entries", name, len(entries))
		}
	}
}

func cmpDir(dir string, t *testing.T) string {
	if dir != "" {
		return dir
	}
	return filepath.Join(t.TempDir(), "out")
}

// TestOpsWireGuardMatchesUnits: the role files `sotto ops wireguard`
// writes, on top of the Environment= of build/systemd's router and worker
// units, make configurations `sotto config check` accepts, and every
// worker listens inside the units' IPAddressAllow= network.
func TestOpsWireGuardMatchesUnits(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "wg")
	if _, err := writeWireGuard(dir, newTestPlan(t, 2), rand.Reader); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ unit, env string }{
		{"sotto-router.service", "router/router.env"},
		{"sotto-worker.service", "worker-1/worker.env"},
		{"sotto-worker.service", "worker-2/worker.env"},
	} {
		env, allow := unitEnvironment(t, c.unit)
		data, err := os.ReadFile(filepath.Join(dir, c.env))
		if err != nil {
			t.Fatal(err)
		}
		for line := range strings.Lines(string(data)) {
			if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok && k[0] != '#' {
				env[k] = v
			}
		}
		if env["SOTTO_ROLE"] == "worker" {
			env["SOTTO_MODEL"] = "/var/lib/sotto/models/model.gguf"
			host, _, _ := strings.Cut(env["SOTTO_LISTEN"], ":")
			if a, err := netip.ParseAddr(host); err != nil || !allow.Contains(a) {
				t.Errorf("%s: SOTTO_LISTEN=%s outside IPAddressAllow %v", c.env, env["SOTTO_LISTEN"], allow)
			}
		}
		lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
		if _, err := config.Check(lookup); err != nil {
			t.Errorf("%s with %s: %v", c.unit, c.env, err)
		}
	}
}

// unitEnvironment returns a unit's Environment= assignments and its
// IPAddressAllow= network (the one besides localhost).
func unitEnvironment(t *testing.T, name string) (map[string]string, netip.Prefix) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "build", "systemd", name))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	var allow netip.Prefix
	for line := range strings.Lines(string(data)) {
		line = strings.TrimSpace(line)
		if v, ok := strings.CutPrefix(line, "Environment="); ok {
			k, val, _ := strings.Cut(v, "=")
			env[k] = val
		}
		if v, ok := strings.CutPrefix(line, "IPAddressAllow="); ok {
			for _, f := range strings.Fields(v) {
				if p, err := netip.ParsePrefix(f); err == nil {
					allow = p
				}
			}
		}
	}
	if !allow.IsValid() || allow.String() != defaultWGSubnet {
		t.Fatalf("%s: IPAddressAllow= lacks %s", name, defaultWGSubnet)
	}
	return env, allow
}
