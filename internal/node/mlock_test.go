package node

import (
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sottolabs/sotto/internal/locked"
	"github.com/sottolabs/sotto/internal/testenv"
	"github.com/sottolabs/sotto/server/config"
)

const mlockChildEnv = "SOTTO_NODE_TEST_MLOCK_CHILD"

// mlockPlan is a development plan whose keys are created under dir.
func mlockPlan(t *testing.T, dir string, mlock bool) Plan {
	t.Helper()
	vars := map[string]string{
		"SOTTO_MODEL": "/absent.gguf", "SOTTO_KEY_DIR": filepath.Join(dir, "keys"),
		"SOTTO_DEVICE_POLICY": "open", "SOTTO_MLOCK_WEIGHTS": strconv.FormatBool(mlock),
	}
	cfg, err := config.Load(func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	return PlanFor(cfg)
}

// TestMlockWeightsNeedsUnlimitedLockedMemory: with SOTTO_MLOCK_WEIGHTS a
// process under a finite RLIMIT_MEMLOCK refuses to start (it would crash
// on its first request), and one with unlimited locked memory starts. The
// limited case re-runs this test binary as nobody under a 1 MiB limit
// (prlimit and setpriv from util-linux), as the server's budget test does.
func TestMlockWeightsNeedsUnlimitedLockedMemory(t *testing.T) {
	if os.Getenv(mlockChildEnv) == "1" {
		mlockChild(t)
		return
	}
	if os.Geteuid() != 0 {
		skipOrFail(t, "needs root to switch to nobody")
	}
	setpriv, err1 := exec.LookPath("setpriv")
	prlimit, err2 := exec.LookPath("prlimit")
	if err1 != nil || err2 != nil {
		skipOrFail(t, "setpriv or prlimit (util-linux) not installed")
	}
	// Root with CAP_IPC_LOCK: unlimited, the setting is accepted.
	n, err := New(mlockPlan(t, t.TempDir(), true), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("unlimited locked memory: %v", err)
	}
	n.Close()

	dir, err := os.MkdirTemp("", "sotto-mlock-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o1777); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "node.test")
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(prlimit, "--memlock=1048576:1048576", "--",
		setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--inh-caps=-all",
		bin, "-test.run=^TestMlockWeightsNeedsUnlimitedLockedMemory$", "-test.count=1", "-test.v")
	cmd.Dir = dir
	cmd.Env = []string{mlockChildEnv + "=1", "TMPDIR=" + dir, "HOME=" + dir, "PATH=" + os.Getenv("PATH")}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestMlockWeightsNeedsUnlimitedLockedMemory") {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

// mlockChild runs as nobody under a 1 MiB RLIMIT_MEMLOCK.
func mlockChild(t *testing.T) {
	if limit, err := locked.RaiseLimit(); err != nil || limit < 0 {
		t.Fatalf("not running under a finite memlock limit: %d, %v", limit, err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir := t.TempDir()
	if _, err := New(mlockPlan(t, dir, true), log); !errors.Is(err, locked.ErrWeightsNeedUnlimited) {
		t.Fatalf("New with SOTTO_MLOCK_WEIGHTS under a 1 MiB limit = %v, want ErrWeightsNeedUnlimited", err)
	}
	n, err := New(mlockPlan(t, dir, false), log)
	if err != nil {
		t.Fatalf("New without SOTTO_MLOCK_WEIGHTS: %v", err)
	}
	n.Close()
}

func skipOrFail(t *testing.T, why string) {
	t.Helper()
	if testenv.InCI() {
		t.Fatal(why)
	}
	t.Skip(why)
}
