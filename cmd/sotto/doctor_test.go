package main

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sottolabs/sotto/server/config"
)

// fakeHost is a host whose /proc is a temporary directory of the test's
// files, with a fixed memlock limit, clock status and build flags.
func fakeHost(t *testing.T, files map[string]string, memlock uint64, cflags string) host {
	t.Helper()
	proc := t.TempDir()
	for name, content := range files {
		p := filepath.Join(proc, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return host{
		proc:        proc,
		memlock:     func() (uint64, error) { return memlock, nil },
		clockSynced: func() (bool, error) { return true, nil },
		buildFlags:  func() string { return cflags },
		owner:       func() (int, string) { return os.Geteuid(), "svc" },
		readFile:    os.ReadFile,
	}
}

var healthyProc = map[string]string{
	"swaps":                   "Filename\tType\tSize\tUsed\tPriority\n",
	"sys/vm/swappiness":       "60\n",
	"sys/kernel/core_pattern": "|/bin/false\n",
	"sys/fs/suid_dumpable":    "0\n",
	"cpuinfo":                 "processor\t: 0\nflags\t\t: fpu sse4_2 avx avx2 fma f16c\n",
}

func with(base map[string]string, kv ...string) map[string]string {
	m := map[string]string{}
	for k, v := range base {
		m[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func TestDoctorHostFindings(t *testing.T) {
	const flags = "-O3 -mavx2 -mfma -mf16c"
	tests := []struct {
		name string
		h    host
		run  func(host) finding
		want string
	}{
		{"no swap", fakeHost(t, healthyProc, 0, ""), host.checkSwap, "ok   swap: no swap"},
		{"swap on", fakeHost(t, with(healthyProc, "swaps", "Filename\tType\n/swapfile\tfile\t1024\t0\t-2\n"), 0, ""), host.checkSwap,
			"WARN swap: 1 swap area(s) on, vm.swappiness=60: the KV cache (the conversation) may be written to disk -> swapoff -a and remove swap from /etc/fstab, or at least install build/sysctl/90-sotto.conf (vm.swappiness=1)"},
		{"core handler", fakeHost(t, with(healthyProc, "sys/kernel/core_pattern", "|/lib/systemd/systemd-coredump %P\n"), 0, ""), host.checkCores,
			"WARN core dumps: core_pattern pipes dumps to a handler that stores them -> install build/sysctl/90-sotto.conf (kernel.core_pattern=|/bin/false); the server itself never dumps"},
		{"suid dumpable", fakeHost(t, with(healthyProc, "sys/fs/suid_dumpable", "2\n"), 0, ""), host.checkCores,
			"WARN core dumps: fs.suid_dumpable=2: privileged processes may dump core -> install build/sysctl/90-sotto.conf (fs.suid_dumpable=0)"},
		{"cpu has all", fakeHost(t, healthyProc, 0, flags), host.checkCPU, "ok   cpu: the CPU has every feature the build uses (avx2 fma f16c)"},
		{"cpu lacks avx2", fakeHost(t, with(healthyProc, "cpuinfo", "flags\t: fpu avx fma\n"), 0, flags), host.checkCPU,
			"FAIL cpu: this CPU lacks avx2, f16c, which the build uses: llama.cpp will crash (SIGILL) -> rebuild with LLAMA_CPU_FLAGS set to what /proc/cpuinfo lists"},
		{"native build", fakeHost(t, healthyProc, 0, "-O3 -march=native"), host.checkCPU,
			"WARN cpu: built with -march=native: the binary runs only on CPUs like the build machine's -> build releases with explicit flags (make release)"},
	}
	for _, tt := range tests {
		if got := tt.run(tt.h).String(); got != tt.want {
			t.Errorf("%s:\n got  %s\n want %s", tt.name, got, tt.want)
		}
	}
}

func TestDoctorMemlock(t *testing.T) {
	cfg, err := config.Load(func(k string) (string, bool) { return map[string]string{"SOTTO_MODEL": "/m"}[k], k == "SOTTO_MODEL" })
	if err != nil {
		t.Fatal(err)
	}
	need := lockedNeed(cfg)
	if got := fakeHost(t, healthyProc, unix.RLIM_INFINITY, "").checkMemlock(cfg).String(); got != "ok   memlock: RLIMIT_MEMLOCK unlimited" {
		t.Errorf("unlimited: %s", got)
	}
	if got := fakeHost(t, healthyProc, uint64(need)+64<<10, "").checkMemlock(cfg); got.level != "ok" {
		t.Errorf("exactly enough: %s", got)
	}
	got := fakeHost(t, healthyProc, 8<<20, "").checkMemlock(cfg).String()
	below := "WARN memlock: locked-memory budget 7.9 MiB (RLIMIT_MEMLOCK less 64 KiB) is below the estimated " + mib(need) +
		" for 4 slots and 16 queued requests; requests beyond it get 503 #overloaded -> "
	// Development: no unit runs the server, the shell's limit applies.
	want := below + "in the shell that runs sotto serve: ulimit -l 11264 (raising the hard limit needs root or /etc/security/limits.conf)"
	if got != want {
		t.Errorf("8 MiB, development:\n got  %s\n want %s", got, want)
	}
	cfg.Environment = config.Production
	if got := fakeHost(t, healthyProc, 8<<20, "").checkMemlock(cfg).String(); got != below+"set LimitMEMLOCK=11M in the unit" {
		t.Errorf("8 MiB, production:\n got  %s", got)
	}
	cfg.MlockWeights = true
	want = "FAIL memlock: SOTTO_MLOCK_WEIGHTS needs unlimited locked memory and sotto serve refuses to start under this limit -> set LimitMEMLOCK=infinity in the unit, or SOTTO_MLOCK_WEIGHTS=false"
	if got := fakeHost(t, healthyProc, 512<<20, "").checkMemlock(cfg).String(); got != want {
		t.Errorf("locked weights under 512M:\n got  %s\n want %s", got, want)
	}
}

func TestDoctorFiles(t *testing.T) {
	h := fakeHost(t, healthyProc, 0, "")
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys")
	if err := os.Mkdir(keys, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(keys, "x25519.key"), []byte("k"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := h.checkKeyDir(keys, false).String(); got != "ok   key directory: "+keys+": 1 file(s), 0700/0600, owned by svc" {
		t.Errorf("good key dir: %s", got)
	}
	if err := os.Chmod(filepath.Join(keys, "x25519.key"), 0o644); err != nil {
		t.Fatal(err)
	}
	k := filepath.Join(keys, "x25519.key")
	if got, want := h.checkKeyDir(keys, false).String(), "FAIL key directory: "+k+" is open to group or others (mode 0644) -> chown svc "+k+" && chmod 600 "+k; got != want {
		t.Errorf("open key file:\n got  %s\n want %s", got, want)
	}
	if got := h.checkKeyDir(filepath.Join(dir, "none"), true); got.level != "ok" {
		t.Errorf("missing key dir in development: %s", got)
	}
	allow := filepath.Join(dir, "devices")
	if err := os.WriteFile(allow, []byte("ed25519:AAAA\n"), 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(allow, 0o666); err != nil { // past the umask
		t.Fatal(err)
	}
	if got, want := h.checkAllowList(allow, false).String(), "FAIL allow-list: "+allow+" is writable by group or others (mode 0666): they could enrol devices -> chmod go-w "+allow; got != want {
		t.Errorf("writable allow-list:\n got  %s\n want %s", got, want)
	}
	notGGUF := filepath.Join(dir, "model.gguf")
	if err := os.WriteFile(notGGUF, []byte("<html>"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := h.checkModel(notGGUF, false, ""); got.String() != "FAIL model: "+notGGUF+" is not a GGUF file -> download a GGUF model (docs/models.md)" {
		t.Errorf("not a GGUF: %s", got)
	}
}
