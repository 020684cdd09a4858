package harden

import (
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sottolabs/sotto/internal/harden/internal/heapcanary"
)

// childVar selects what a re-executed test binary does (see TestMain).
const childVar = "HARDEN_TEST_CHILD"

// TestMain turns the test binary into the child processes the tests
// start: the malloc tunables only act on a freshly executed process.
func TestMain(m *testing.M) {
	switch os.Getenv(childVar) {
	case "scan":
		fmt.Printf("hits=%d\n", heapcanary.ChurnAndScan(4096))
		os.Exit(0)
	case "reexec":
		if err := ReexecWithMallocTunables(); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Printf("tunables=%s marker=%s hits=%d\n", os.Getenv(TunablesVar), os.Getenv(MarkerVar), heapcanary.ChurnAndScan(4096))
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// child runs this test binary as mode with extra environment and returns
// its output.
func child(t *testing.T, mode string, env ...string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(withoutVars(os.Environ(), TunablesVar, MarkerVar), append(env, childVar+"="+mode)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child %s: %v\n%s", mode, err, out)
	}
	return strings.TrimSpace(string(out))
}

func withoutVars(env []string, names ...string) []string {
	var out []string
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.Contains(strings.Join(names, "\x00")+"\x00", name+"\x00") {
			out = append(out, kv)
		}
	}
	return out
}

func requireCanary(t *testing.T) {
	t.Helper()
	if !heapcanary.Supported {
		t.Skip("needs cgo")
	}
}

// TestFreedHeapWithoutTunables shows the problem: glibc's default malloc
// leaves freed copies of the canary in memory (observed: dozens of windows,
// from the tcache and fastbin chunks whose bodies free does not touch).
func TestFreedHeapWithoutTunables(t *testing.T) {
	requireCanary(t)
	out := child(t, "scan")
	var hits int
	if _, err := fmt.Sscanf(out, "hits=%d", &hits); err != nil {
		t.Fatalf("child output %q", out)
	}
	if hits <= 0 {
		t.Fatalf("no canary residue without tunables (%q): the scan cannot see freed memory", out)
	}
	t.Logf("residue without tunables: %d windows", hits)
}

func TestFreedHeapWithTunables(t *testing.T) {
	requireCanary(t)
	if out := child(t, "scan", TunablesVar+"="+mallocTunables); out != "hits=0" {
		t.Fatalf("with tunables: %q, want hits=0", out)
	}
}

func TestReexecWithMallocTunables(t *testing.T) {
	requireCanary(t)
	out := child(t, "reexec", TunablesVar+"=glibc.malloc.arena_max=2")
	want := "tunables=glibc.malloc.arena_max=2:" + mallocTunables + " marker=1 hits=0"
	if out != want {
		t.Fatalf("re-executed child: %q\nwant %q", out, want)
	}
}

func TestReexecSkippedWhenAlreadyTuned(t *testing.T) {
	requireCanary(t)
	// Started with the tunables (say from systemd's Environment=): no re-exec,
	// so no marker, and the heap is already clean.
	out := child(t, "reexec", TunablesVar+"="+mallocTunables)
	if want := "tunables=" + mallocTunables + " marker= hits=0"; out != want {
		t.Fatalf("got %q, want %q", out, want)
	}
}

func TestTunedEnviron(t *testing.T) {
	tests := []struct {
		in, want []string
	}{
		{[]string{"A=1"}, []string{"A=1", "GLIBC_TUNABLES=" + mallocTunables, "SOTTO_MALLOC_TUNED=1"}},
		{[]string{"GLIBC_TUNABLES=glibc.malloc.perturb=0", "B=2", "SOTTO_MALLOC_TUNED=x"},
			[]string{"B=2", "GLIBC_TUNABLES=glibc.malloc.perturb=0:" + mallocTunables, "SOTTO_MALLOC_TUNED=1"}},
		{[]string{"GLIBC_TUNABLES="}, []string{"GLIBC_TUNABLES=" + mallocTunables, "SOTTO_MALLOC_TUNED=1"}},
	}
	for _, tt := range tests {
		if got := TunedEnviron(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("TunedEnviron(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestTunablesActive(t *testing.T) {
	for val, want := range map[string]bool{
		mallocTunables: true,
		"glibc.malloc.tcache_count=0:glibc.malloc.perturb=0xa5":                            true,
		"glibc.malloc.tcache_count=0":                                                      false,
		"glibc.malloc.perturb=165":                                                         false,
		"glibc.malloc.tcache_count=0:glibc.malloc.perturb=0":                               false,
		"glibc.malloc.tcache_count=0:glibc.malloc.perturb=165:glibc.malloc.tcache_count=7": false,
		"": false,
	} {
		if got := tunablesActive(val); got != want {
			t.Errorf("tunablesActive(%q) = %v", val, got)
		}
	}
}

func TestApply(t *testing.T) {
	if err := Apply(); err != nil {
		t.Fatal(err)
	}
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_CORE, &rl); err != nil {
		t.Fatal(err)
	}
	if rl.Cur != 0 || rl.Max != 0 {
		t.Fatalf("RLIMIT_CORE = %d/%d", rl.Cur, rl.Max)
	}
	if d, err := Dumpable(); err != nil || d {
		t.Fatalf("Dumpable = %v, %v", d, err)
	}
	// Without CAP_SYS_RESOURCE the hard limit is gone for good.
	if os.Geteuid() != 0 {
		if err := unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{Cur: 1 << 20, Max: 1 << 20}); err == nil {
			t.Fatal("RLIMIT_CORE raised again")
		}
	}
}

// TestClearDebugEnv: every llama.cpp debug variable is gone after
// ClearDebugEnv, which names (only) those it cleared.
func TestClearDebugEnv(t *testing.T) {
	t.Setenv("LLAMA_BATCH_DEBUG", "2")
	t.Setenv("GGML_SCHED_DEBUG", "1")
	t.Setenv(NoBacktraceVar, "")
	cleared, err := ClearDebugEnv()
	if err != nil || !reflect.DeepEqual(cleared, []string{"LLAMA_BATCH_DEBUG", "GGML_SCHED_DEBUG"}) {
		t.Fatalf("cleared %v, err %v", cleared, err)
	}
	for _, name := range DebugVars {
		if _, ok := os.LookupEnv(name); ok {
			t.Errorf("%s still set", name)
		}
	}
	if os.Getenv(NoBacktraceVar) != "1" {
		t.Errorf("%s not set", NoBacktraceVar)
	}
}
