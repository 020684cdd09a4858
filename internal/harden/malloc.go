package harden

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// glibc reads GLIBC_TUNABLES once, in the dynamic loader, before main, so
// the only way to apply them to a running process is to execute it again.
const (
	// TunablesVar is glibc's tunables variable.
	TunablesVar = "GLIBC_TUNABLES"
	// MarkerVar marks the re-executed process so it does not loop.
	MarkerVar = "SOTTO_MALLOC_TUNED"

	// PerturbByte is what glibc writes over every freed chunk (and its
	// complement over every new one). Any nonzero byte enables the
	// feature; 0xA5 is easy to spot in a memory dump.
	PerturbByte = 0xA5

	// mallocTunables disables the per-thread cache, whose frees skip the
	// perturbation, and turns perturbation on.
	mallocTunables = "glibc.malloc.tcache_count=0:glibc.malloc.perturb=165"
)

// ReexecWithMallocTunables replaces the process with a fresh copy of
// itself (same executable, arguments and environment) whose glibc
// overwrites freed heap memory, unless the tunables are already in effect.
// On success it does not return; in the re-executed process it returns
// nil at once. Call it first thing in `sotto serve`: anything done before
// it is lost, and it must run before secrets are loaded.
//
// The tunables are appended to an existing GLIBC_TUNABLES. glibc ignores
// them for set-user-ID binaries and binaries with file capabilities (they
// run in secure mode); grant CAP_IPC_LOCK through systemd's
// AmbientCapabilities or a raised RLIMIT_MEMLOCK instead of setcap.
func ReexecWithMallocTunables() error {
	if os.Getenv(MarkerVar) != "" || tunablesActive(os.Getenv(TunablesVar)) {
		return nil
	}
	env := TunedEnviron(os.Environ())
	// /proc/self/exe is the running binary even if its file was replaced
	// or deleted since start (an upgrade in place).
	if err := unix.Exec("/proc/self/exe", os.Args, env); err != nil {
		return fmt.Errorf("harden: re-exec with malloc tunables: %w", err)
	}
	return nil // not reached
}

// TunedEnviron returns env with the malloc tunables appended to
// GLIBC_TUNABLES (or added) and MarkerVar set. Later settings win in
// glibc's parser, so ours override an earlier value of the same tunable.
func TunedEnviron(env []string) []string {
	out := make([]string, 0, len(env)+2)
	tunables := mallocTunables
	for _, kv := range env {
		name, val, _ := strings.Cut(kv, "=")
		switch name {
		case TunablesVar:
			if val != "" {
				tunables = val + ":" + mallocTunables
			}
			continue
		case MarkerVar:
			continue
		}
		out = append(out, kv)
	}
	return append(out, TunablesVar+"="+tunables, MarkerVar+"=1")
}

// ActivePerturb returns the perturb byte glibc applies to freed memory in
// this process (from the GLIBC_TUNABLES it started with), or 0.
func ActivePerturb() int {
	perturb := 0
	for item := range strings.SplitSeq(os.Getenv(TunablesVar), ":") {
		if v, ok := strings.CutPrefix(item, "glibc.malloc.perturb="); ok {
			n, err := strconv.ParseUint(v, 0, 8)
			if err != nil {
				n = 0
			}
			perturb = int(n)
		}
	}
	return perturb
}

// tunablesActive reports whether a GLIBC_TUNABLES value the process
// started with already sets tcache_count to 0 and a nonzero perturb byte
// (the last setting of each counts).
func tunablesActive(val string) bool {
	var tcache, perturb string
	for item := range strings.SplitSeq(val, ":") {
		name, v, _ := strings.Cut(item, "=")
		switch name {
		case "glibc.malloc.tcache_count":
			tcache = v
		case "glibc.malloc.perturb":
			perturb = v
		}
	}
	n, err := strconv.ParseUint(perturb, 0, 8)
	return tcache == "0" && err == nil && n != 0
}
