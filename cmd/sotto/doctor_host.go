package main

import (
	"bytes"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/sottolabs/sotto/internal/locked"
	"github.com/sottolabs/sotto/server/config"
)

// host is what the doctor's checks read, so tests can point them at
// files of their own.
type host struct {
	proc        string                            // /proc
	memlock     func() (cur uint64, err error)    // RLIMIT_MEMLOCK soft limit, RLIM_INFINITY when unlimited
	clockSynced func() (synced bool, err error)   // the kernel's NTP status
	buildFlags  func() string                     // the cgo CFLAGS this binary was built with
	owner       func() (uid int, name string)     // the service user files must belong to
	readFile    func(path string) ([]byte, error) // os.ReadFile
}

func realHost(serviceUser string) host {
	return host{
		proc:        "/proc",
		memlock:     memlockLimit,
		clockSynced: kernelClockSynced,
		buildFlags:  buildCFlags,
		owner:       func() (int, string) { return lookupOwner(serviceUser) },
		readFile:    os.ReadFile,
	}
}

// checkSwap: locked memory never swaps, but the rest of the process
// (llama.cpp's KV cache holds the conversation) can.
func (h host) checkSwap() finding {
	data, err := h.readFile(filepath.Join(h.proc, "swaps"))
	if err != nil {
		return warn("swap", "cannot read /proc/swaps", "check with swapon --show")
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) <= 1 {
		return ok("swap", "no swap")
	}
	swappiness := strings.TrimSpace(string(must(h.readFile(filepath.Join(h.proc, "sys/vm/swappiness")))))
	return warn("swap", fmt.Sprintf("%d swap area(s) on, vm.swappiness=%s: the KV cache (the conversation) may be written to disk", len(lines)-1, swappiness),
		"swapoff -a and remove swap from /etc/fstab, or at least install build/sysctl/90-sotto.conf (vm.swappiness=1)")
}

// checkCores: the server disables its own dumps, but a core handler
// (systemd-coredump, apport) keeps other processes' dumps, and
// fs.suid_dumpable lets privileged processes dump.
func (h host) checkCores() finding {
	pattern := strings.TrimSpace(string(must(h.readFile(filepath.Join(h.proc, "sys/kernel/core_pattern")))))
	suid := strings.TrimSpace(string(must(h.readFile(filepath.Join(h.proc, "sys/fs/suid_dumpable")))))
	switch {
	case suid != "0":
		return warn("core dumps", "fs.suid_dumpable="+suid+": privileged processes may dump core", "install build/sysctl/90-sotto.conf (fs.suid_dumpable=0)")
	case strings.HasPrefix(pattern, "|") && pattern != "|/bin/false":
		return warn("core dumps", "core_pattern pipes dumps to a handler that stores them", "install build/sysctl/90-sotto.conf (kernel.core_pattern=|/bin/false); the server itself never dumps")
	}
	return ok("core dumps", "fs.suid_dumpable=0, core_pattern stores nothing")
}

// lockedNeed estimates the locked bytes the server holds with every slot
// busy and the queue full: per request the body, two 64 KiB stream
// buffers, the templated prompt and its token ids (4 bytes each), rounded
// to pages by locked.Cost; plus the conversation cache's cap.
func lockedNeed(cfg config.Config) int64 {
	perRequest := locked.Cost(cfg.MaxBodyBytes) + 2*locked.Cost(64<<10) +
		locked.Cost(4*cfg.Context) + locked.Cost(4*cfg.Context) + locked.Cost(64<<10)
	// The conversation cache, full, holds SOTTO_PREFIX_CACHE_BYTES on top.
	return int64(cfg.Slots+cfg.QueueDepth)*perRequest + 1<<20 + cfg.PrefixCacheBytes // keys and engine scratch
}

// checkMemlock compares RLIMIT_MEMLOCK (this process's: run the doctor as
// the unit runs the server) with lockedNeed. SOTTO_MLOCK_WEIGHTS needs it
// unlimited: the server refuses to start otherwise.
func (h host) checkMemlock(cfg config.Config) finding {
	cur, err := h.memlock()
	if err != nil {
		return fail("memlock", "cannot read RLIMIT_MEMLOCK", "")
	}
	if cur == unix.RLIM_INFINITY {
		return ok("memlock", "RLIMIT_MEMLOCK unlimited")
	}
	dev := cfg.Environment == config.Development
	if cfg.MlockWeights {
		return fail("memlock", "SOTTO_MLOCK_WEIGHTS needs unlimited locked memory and sotto serve refuses to start under this limit",
			raiseMemlock(dev, "infinity", "unlimited")+", or SOTTO_MLOCK_WEIGHTS=false")
	}
	budget, need := int64(cur)-64<<10, lockedNeed(cfg)
	if budget >= need {
		return ok("memlock", fmt.Sprintf("locked-memory budget %s covers the estimated %s", mib(budget), mib(need)))
	}
	mb := (need + 64<<10 + 1<<20 - 1) >> 20
	return warn("memlock", fmt.Sprintf("locked-memory budget %s (RLIMIT_MEMLOCK less 64 KiB) is below the estimated %s for %d slots and %d queued requests; requests beyond it get 503 #overloaded",
		mib(budget), mib(need), cfg.Slots, cfg.QueueDepth),
		raiseMemlock(dev, fmt.Sprintf("%dM", mb), fmt.Sprint(mb<<10)))
}

// raiseMemlock is the advice to raise the limit: the unit's LimitMEMLOCK
// in production, the shell's ulimit -l (KiB) in development, where no
// unit runs the server.
func raiseMemlock(dev bool, unit, ulimit string) string {
	if dev {
		return "in the shell that runs sotto serve: ulimit -l " + ulimit + " (raising the hard limit needs root or /etc/security/limits.conf)"
	}
	return "set LimitMEMLOCK=" + unit + " in the unit"
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

func memlockLimit() (uint64, error) {
	var rl unix.Rlimit
	err := unix.Getrlimit(unix.RLIMIT_MEMLOCK, &rl)
	return rl.Cur, err
}

// kernelClockSynced asks the kernel (adjtimex) whether NTP keeps the clock
// synchronized; requests carry a timestamp checked against
// REQUEST_TTL_SECONDS.
func kernelClockSynced() (bool, error) {
	var tx unix.Timex
	state, err := unix.Adjtimex(&tx)
	if err != nil {
		return false, err
	}
	return state != unix.TIME_ERROR && tx.Status&unix.STA_UNSYNC == 0, nil
}

func (h host) checkClock() finding {
	synced, err := h.clockSynced()
	switch {
	case err != nil:
		return warn("clock", "cannot read the kernel's clock status", "check timedatectl")
	case !synced:
		return warn("clock", "the clock is not synchronized: clients whose ts differs by more than REQUEST_TTL_SECONDS get 400 #date",
			"enable NTP (systemctl enable --now systemd-timesyncd, or chrony)")
	}
	return ok("clock", "synchronized")
}

// buildCFlags returns the CGO_CFLAGS recorded in this binary.
func buildCFlags() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	for _, s := range info.Settings {
		if s.Key == "CGO_CFLAGS" {
			return s.Value
		}
	}
	return ""
}

// cpuFlag maps a -m compiler flag to its /proc/cpuinfo name.
func cpuFlag(mflag string) string {
	return strings.NewReplacer(".", "_").Replace(mflag)
}

// checkCPU compares the SIMD flags llama.cpp was compiled with against
// the CPU: a missing feature means SIGILL at the first matrix product.
func (h host) checkCPU() finding {
	cflags := h.buildFlags()
	var wanted []string
	for _, f := range strings.Fields(cflags) {
		if f == "-march=native" || f == "-mcpu=native" {
			return warn("cpu", "built with "+f+": the binary runs only on CPUs like the build machine's", "build releases with explicit flags (make release)")
		}
		if m, ok := strings.CutPrefix(f, "-m"); ok && !strings.Contains(m, "=") && !strings.HasPrefix(m, "no-") {
			wanted = append(wanted, m)
		}
	}
	if len(wanted) == 0 {
		return ok("cpu", "no SIMD flags in the build (CGO_CFLAGS "+strconv.Quote(cflags)+")")
	}
	have := cpuinfoFlags(must(h.readFile(filepath.Join(h.proc, "cpuinfo"))))
	var missing []string
	for _, w := range wanted {
		if !have[cpuFlag(w)] {
			missing = append(missing, w)
		}
	}
	if len(missing) > 0 {
		return fail("cpu", "this CPU lacks "+strings.Join(missing, ", ")+", which the build uses: llama.cpp will crash (SIGILL)",
			"rebuild with LLAMA_CPU_FLAGS set to what /proc/cpuinfo lists")
	}
	return ok("cpu", "the CPU has every feature the build uses ("+strings.Join(wanted, " ")+")")
}

func cpuinfoFlags(data []byte) map[string]bool {
	have := map[string]bool{}
	for line := range bytes.Lines(data) {
		k, v, found := bytes.Cut(line, []byte(":"))
		if found && string(bytes.TrimSpace(k)) == "flags" {
			for _, f := range strings.Fields(string(v)) {
				have[f] = true
			}
			break
		}
	}
	return have
}

// lookupOwner resolves the service user, falling back to the current user
// when it does not exist (a development machine).
func lookupOwner(name string) (int, string) {
	if u, err := user.Lookup(name); err == nil {
		if uid, err := strconv.Atoi(u.Uid); err == nil {
			return uid, name
		}
	}
	return os.Geteuid(), "uid " + strconv.Itoa(os.Geteuid())
}

// must returns data, or nothing when the read failed (the check then
// reports what it could not find).
func must(data []byte, _ error) []byte { return data }
