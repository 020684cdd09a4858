package llama

import (
	"bufio"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/sottolabs/sotto/internal/harden"
	"github.com/sottolabs/sotto/internal/testenv"
)

// TestComputeBufferNotTouchedAtStart: under `sotto serve`'s malloc
// perturbation (internal/harden), glibc fills every block it allocates,
// so creating a context made its whole reserved compute buffer resident
// (issue 23: 66 MiB for a 1.1B model at a batch of 512). The context is
// now created with perturbation off (sotto_init_context). On
// llama-2-tiny-random (vocabulary 32,000) a batch of 512 reserves about
// 64 MiB of logits in the compute buffer; creating the engine must add
// far less than that to the resident anonymous memory, and a request
// still decodes. The test runs itself in a perturbed child when the
// process is not one; before the fix it failed there (+65 MiB).
func TestComputeBufferNotTouchedAtStart(t *testing.T) {
	path := testenv.Model(t, "llama-2-tiny-random.gguf")
	if harden.ActivePerturb() == 0 {
		cmd := exec.Command(os.Args[0], "-test.run", "^TestComputeBufferNotTouchedAtStart$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), harden.TunablesVar+"=glibc.malloc.tcache_count=0:glibc.malloc.perturb=165")
		out, err := cmd.CombinedOutput()
		t.Logf("perturbed child:\n%s", tail(out, 2000))
		if err != nil || !strings.Contains("\n"+string(out), "\nPASS\n") {
			t.Fatalf("under malloc perturbation: %v", err)
		}
		return
	}
	m, err := LoadModel(path, ModelParams{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	before := rssAnon(t)
	e, err := NewEngine(m, Config{Slots: 1, ContextPerSlot: 256, BatchSize: 512, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	grown := rssAnon(t) - before
	t.Logf("engine with a batch of 512 on a 32,000-token vocabulary: resident anonymous memory +%d KiB", grown>>10)
	if grown > 16<<20 {
		t.Errorf("creating the engine made %d MiB resident, want under 16 MiB (the compute buffer is about 64 MiB)", grown>>20)
	}
	req := &Request{Prompt: []byte(onceUpon), MaxTokens: 4, IgnoreEOS: true}
	if text, _, res, err := collect(t, e, req); err != nil || res.CompletionTokens != 4 || text == "" {
		t.Fatalf("generate after start: %q, %+v, %v", text, res, err)
	}
}

// rssAnon is this process's resident anonymous memory (RssAnon), bytes.
func rssAnon(t *testing.T) int64 {
	t.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "RssAnon:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no RssAnon in /proc/self/status")
	return 0
}
