package buildtest

import (
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/elastic/go-seccomp-bpf/arch"
)

// expandFilter resolves a SystemCallFilter= set ("@group" or a name) to
// system-call names with systemd-analyze syscall-filter, following nested
// groups.
func expandFilter(t *testing.T, analyze, set string, seen map[string]bool) []string {
	t.Helper()
	if !strings.HasPrefix(set, "@") {
		return []string{set}
	}
	if seen[set] {
		return nil
	}
	seen[set] = true
	out, err := exec.Command(analyze, "syscall-filter", "--no-pager", set).Output()
	if err != nil {
		t.Fatalf("systemd-analyze syscall-filter %s: %v", set, err)
	}
	var names []string
	for i, line := range strings.Split(string(out), "\n") {
		line = strings.TrimSpace(line)
		if i == 0 || line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		names = append(names, expandFilter(t, analyze, line, seen)...)
	}
	return names
}

// unitSyscalls applies the unit's SystemCallFilter= lines in order (an
// allow-list, then "~" lines taking sets away) and keeps the names this
// architecture knows.
func unitSyscalls(t *testing.T, analyze string, u unit) []string {
	t.Helper()
	allowed := map[string]bool{}
	for _, line := range u["Service.SystemCallFilter"] {
		deny := strings.HasPrefix(line, "~")
		for _, set := range strings.Fields(strings.TrimPrefix(line, "~")) {
			for _, name := range expandFilter(t, analyze, set, map[string]bool{}) {
				allowed[name] = !deny
			}
		}
	}
	info, err := arch.GetInfo("")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for name, ok := range allowed {
		if _, known := info.SyscallNames[name]; ok && known {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}
