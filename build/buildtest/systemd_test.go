package buildtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// maxExposure is the worst overall exposure a unit may have in
// `systemd-analyze security` (0 best, 10 worst).
const maxExposure = 2.0

// units returns every systemd service unit under build/systemd, with
// the timers too when withTimers (security analyses only services).
func units(t *testing.T, withTimers bool) []string {
	t.Helper()
	paths, err := filepath.Glob(buildFile(t, "systemd/*.service"))
	if err != nil || len(paths) < 4 {
		t.Fatalf("want sotto, sotto-router, sotto-worker and sotto-cert-renew@ under build/systemd, found %v (%v)", paths, err)
	}
	if withTimers {
		timers, _ := filepath.Glob(buildFile(t, "systemd/*.timer"))
		paths = append(paths, timers...)
	}
	return paths
}

// TestUnitsVerify runs systemd-analyze verify on every unit. The only
// message tolerated is the one about a binary that is not installed on
// this machine (/usr/local/bin/sotto, and step, which Debian does not
// package).
func TestUnitsVerify(t *testing.T) {
	analyze := requireTool(t, "systemd-analyze", "systemd")
	for _, path := range units(t, true) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			verifyUnit(t, analyze, path)
		})
	}
}

// verifyUnit runs systemd-analyze verify on one unit. verify fails when
// a unit the file requires is not installed: the worker's
// wg-quick@wg0.service comes with wireguard-tools.
func verifyUnit(t *testing.T, analyze, path string) {
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(text)) {
		if strings.HasPrefix(line, "Requires=") && strings.Contains(line, "wg-quick@") {
			requireUnit(t, "wg-quick@.service", "wireguard-tools")
		}
	}
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	var unexpected []string
	for line := range strings.Lines(string(out)) {
		line = strings.TrimSpace(line)
		if line == "" || missingBinary(line) {
			continue
		}
		unexpected = append(unexpected, line)
	}
	if len(unexpected) > 0 || (err != nil && !missingBinary(string(out))) {
		t.Errorf("systemd-analyze verify %s: %v\n%s", filepath.Base(path), err, out)
	}
}

// missingBinary reports whether every line of out that names a command
// is verify's complaint that a unit's binary does not exist, and it
// really does not.
func missingBinary(out string) bool {
	found := false
	for line := range strings.Lines(out) {
		if !strings.Contains(line, "is not executable") {
			continue
		}
		ok := false
		for _, bin := range []string{"/usr/local/bin/sotto", "/usr/bin/step"} {
			_, err := os.Stat(bin)
			ok = ok || (strings.Contains(line, "Command "+bin+" is not executable: No such file or directory") && os.IsNotExist(err))
		}
		if !ok {
			return false
		}
		found = true
	}
	return found
}

var exposureLine = regexp.MustCompile(`Overall exposure level for \S+: ([0-9]+\.[0-9])`)

// TestUnitsExposure requires every unit's overall exposure in
// `systemd-analyze security --offline=true` to be at most maxExposure.
func TestUnitsExposure(t *testing.T) {
	analyze := requireTool(t, "systemd-analyze", "systemd")
	for _, path := range units(t, false) {
		out, err := exec.Command(analyze, "security", "--offline=true", "--no-pager", path).CombinedOutput()
		if err != nil {
			t.Fatalf("systemd-analyze security %s: %v\n%s", path, err, out)
		}
		m := exposureLine.FindSubmatch(out)
		if m == nil {
			t.Fatalf("no overall exposure in the output for %s:\n%s", path, out)
		}
		exposure, _ := strconv.ParseFloat(string(m[1]), 64)
		t.Logf("%s: exposure %.1f", filepath.Base(path), exposure)
		if exposure > maxExposure {
			t.Errorf("%s: exposure %.1f > %.1f:\n%s", filepath.Base(path), exposure, maxExposure, out)
		}
	}
}

// TestSysusers checks the sysusers.d file with systemd-sysusers' dry run
// against an empty root, which parses every line and shows the user and
// group it would create.
func TestSysusers(t *testing.T) {
	sysusers := requireTool(t, "systemd-sysusers", "systemd")
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(sysusers, "--dry-run", "--root", root, buildFile(t, "systemd/sysusers.d/sotto.conf")).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-sysusers --dry-run: %v\n%s", err, out)
	}
	for _, want := range []string{"Creating group 'sotto'", "Creating user 'sotto' (Sotto inference server)", "Creating group 'caddy'"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("systemd-sysusers output lacks %q:\n%s", want, out)
		}
	}
}
