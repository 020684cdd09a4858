package buildtest

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sottolabs/sotto/internal/testenv"
)

// TestCaddyfileValid runs caddy validate on the Caddyfile and requires no
// warning, then reads caddy adapt's JSON for what the edge must do: HTTP/1,
// 2 and 3, unbuffered SSE, and the unit's UNIX socket as the upstream.
func TestCaddyfileValid(t *testing.T) {
	caddy := requireTool(t, "caddy", "caddy")
	path := buildFile(t, "caddy/Caddyfile")
	out, err := exec.Command(caddy, "validate", "--config", path, "--adapter", "caddyfile").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Valid configuration") || strings.Contains(string(out), `"level":"warn"`) {
		t.Fatalf("caddy validate: %v\n%s", err, out)
	}
	adapted, err := exec.Command(caddy, "adapt", "--config", path, "--adapter", "caddyfile").Output()
	if err != nil {
		t.Fatalf("caddy adapt: %v", err)
	}
	var cfg struct {
		Apps struct {
			HTTP struct {
				Servers map[string]json.RawMessage `json:"servers"`
			} `json:"http"`
		} `json:"apps"`
	}
	if err := json.Unmarshal(adapted, &cfg); err != nil || len(cfg.Apps.HTTP.Servers) != 1 {
		t.Fatalf("caddy adapt: want one HTTP server (%v):\n%s", err, adapted)
	}
	u, err := parseUnit(buildFile(t, "systemd/sotto.service"))
	if err != nil {
		t.Fatal(err)
	}
	socket := ""
	for _, kv := range u.environment() {
		if v, ok := strings.CutPrefix(kv, "SOTTO_LISTEN=unix:"); ok {
			socket = v
		}
	}
	for _, srv := range cfg.Apps.HTTP.Servers {
		for _, want := range []string{`"protocols":["h1","h2","h3"]`, `"flush_interval":-1`, `"dial":"unix/` + socket + `"`} {
			if socket == "" || !strings.Contains(string(srv), want) {
				t.Errorf("adapted Caddyfile lacks %s (unit socket %q):\n%s", want, socket, srv)
			}
		}
	}
}

// TestNftablesRules checks every ruleset under build/nftables with nft -c
// -f (parsed and checked by the kernel, nothing applied), that the check
// does reject a broken rule on this machine, and which ports each host
// opens to the internet (rules not limited to the wg0 interface).
func TestNftablesRules(t *testing.T) {
	nft := requireTool(t, "nft", "nftables")
	broken := filepath.Join(t.TempDir(), "broken.nft")
	if err := os.WriteFile(broken, []byte("table inet t {\n chain c {\n type filter hook input priority filter;\n tcp dport { 22, } nonsense\n }\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(nft, "-c", "-f", broken).CombinedOutput(); err == nil {
		t.Fatalf("nft -c accepted a broken ruleset: %s", out)
	}
	public := map[string][]string{
		"sotto.nft":        {"tcp dport { 22, 80, 443 } accept", "udp dport 443 accept"},
		"sotto-router.nft": {"tcp dport { 22, 80, 443 } accept", "udp dport 443 accept"},
		"sotto-worker.nft": {"udp dport $wg_port accept"},
	}
	for name, want := range public {
		path := buildFile(t, "nftables/"+name)
		out, err := exec.Command(nft, "-c", "-f", path).CombinedOutput()
		if err != nil {
			if strings.Contains(string(out), "Operation not permitted") || strings.Contains(string(out), "Protocol not supported") {
				if !testenv.InCI() {
					t.Skipf("buildtest: this kernel or container does not let nft check rules: %s", out)
				}
			}
			t.Fatalf("nft -c -f %s: %v\n%s", name, err, out)
		}
		if got := publicAccepts(t, path); !slices.Equal(got, want) {
			t.Errorf("%s opens to the internet %q, want %q", name, got, want)
		}
	}
}

// publicAccepts returns the rules of a ruleset that accept a port on any
// interface (not limited by iifname or iif).
func publicAccepts(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for line := range strings.Lines(string(data)) {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "#") || !strings.Contains(line, "dport") || !strings.HasSuffix(line, "accept") {
			continue
		}
		if !strings.Contains(line, "iifname") && !strings.HasPrefix(line, "iif ") {
			out = append(out, line)
		}
	}
	return out
}

// TestSysctlDropIn checks that every key of the sysctl drop-in exists on
// this kernel (a typo would be ignored by sysctl --system; keys marked
// optional with "-" may be missing) and that the
// settings the threat model relies on are there.
func TestSysctlDropIn(t *testing.T) {
	data, err := os.ReadFile(buildFile(t, "sysctl/90-sotto.conf"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for line := range strings.Lines(string(data)) {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("not a key = value line: %q", line)
		}
		k = strings.TrimSpace(k)
		optional := strings.HasPrefix(k, "-") // systemd-sysctl: skip when the kernel lacks it
		k = strings.TrimPrefix(k, "-")
		got[k] = strings.TrimSpace(v)
		if _, err := os.Stat(filepath.Join("/proc/sys", strings.ReplaceAll(k, ".", "/"))); err != nil && !optional {
			t.Errorf("%s: no such sysctl on this kernel", k)
		}
	}
	for k, v := range map[string]string{"vm.swappiness": "1", "fs.suid_dumpable": "0"} {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}
