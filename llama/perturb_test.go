package llama

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/sottolabs/sotto/internal/harden"
)

// TestUnderMallocPerturbation re-runs this package's tests in a child whose
// glibc overwrites freed memory, as `sotto serve` runs (internal/harden).
// A use-after-free that plain malloc forgives, such as the one freeing a
// context (see sotto_llama_free), crashes there.
func TestUnderMallocPerturbation(t *testing.T) {
	if harden.ActivePerturb() != 0 {
		t.Skip("already the perturbed child")
	}
	cmd := exec.Command(os.Args[0], "-test.skip", "^TestUnderMallocPerturbation$", "-test.count=1")
	cmd.Env = append(os.Environ(), harden.TunablesVar+"=glibc.malloc.tcache_count=0:glibc.malloc.perturb=165")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains("\n"+string(out), "\nPASS\n") {
		t.Fatalf("tests under malloc perturbation: %v\n%s", err, tail(out, 4000))
	}
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
