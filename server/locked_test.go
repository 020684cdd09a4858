//go:build cgo

// These tests drive the real llama.cpp engine (cgo).

package server_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sottolabs/sotto/crypto"
	"github.com/sottolabs/sotto/internal/locked"
	"github.com/sottolabs/sotto/internal/testenv"
	"github.com/sottolabs/sotto/server/problem"
)

const (
	lockedChildEnv = "SOTTO_SERVER_TEST_LOCKED_CHILD"
	memlockLimit   = 1 << 20
)

// TestLockedBudgetUnprivileged runs the server as an unprivileged user
// whose RLIMIT_MEMLOCK is 1 MiB: memguard panics (purging every key) when
// mlock fails, so the locked budget from locked.RaiseLimit must refuse
// requests with 503 #overloaded before the kernel refuses mlock. The test
// re-runs this test binary under prlimit and setpriv (util-linux) as
// nobody; the child does the work (lockedChild).
func TestLockedBudgetUnprivileged(t *testing.T) {
	if os.Getenv(lockedChildEnv) == "1" {
		lockedChild(t)
		return
	}
	skipOrFail := func(why string) {
		if testenv.InCI() {
			t.Fatal(why)
		}
		t.Skip(why)
	}
	if os.Geteuid() != 0 {
		skipOrFail("needs root to switch to nobody")
	}
	setpriv, err1 := exec.LookPath("setpriv")
	prlimit, err2 := exec.LookPath("prlimit")
	if err1 != nil || err2 != nil {
		skipOrFail("setpriv or prlimit (util-linux) not installed")
	}
	modelPath := testenv.Model(t, "stories260K.gguf")

	// nobody must reach the binary, the model and a temp dir: a
	// world-readable directory outside t.TempDir (whose parent is 0700).
	dir, err := os.MkdirTemp("", "sotto-unpriv-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	tmp := filepath.Join(dir, "tmp")
	for _, d := range []struct {
		path string
		mode os.FileMode
	}{{dir, 0o755}, {tmp, 0o1777}} {
		if err := os.MkdirAll(d.path, d.mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d.path, d.mode); err != nil {
			t.Fatal(err)
		}
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "server.test")
	copyFile(t, self, bin, 0o755)
	copyFile(t, modelPath, filepath.Join(dir, "stories260K.gguf"), 0o644)

	limit := strconv.Itoa(memlockLimit)
	cmd := exec.Command(prlimit, "--memlock="+limit+":"+limit, "--",
		setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--inh-caps=-all",
		bin, "-test.run=^TestLockedBudgetUnprivileged$", "-test.count=1", "-test.v", "-test.timeout=2m")
	cmd.Dir = tmp
	cmd.Env = []string{
		lockedChildEnv + "=1",
		"SOTTO_MODELS_DIR=" + dir,
		"TMPDIR=" + tmp,
		"HOME=" + tmp,
		"PATH=" + os.Getenv("PATH"),
		"CI=" + os.Getenv("CI"),
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`locked-child: ok=(\d+) overloaded=(\d+)`).FindSubmatch(out)
	if m == nil || bytes.Contains(out, []byte("panic")) || !bytes.Contains(out, []byte("--- PASS: TestLockedBudgetUnprivileged")) {
		t.Fatalf("child did not report a clean run:\n%s", out)
	}
	t.Logf("child: %s served, %s refused as overloaded", m[1], m[2])
}

// lockedChild runs as nobody under a 1 MiB RLIMIT_MEMLOCK. Every locked
// allocation (keys, device key, engine, server) shares the budget from
// locked.RaiseLimit, as in `sotto serve`. The engine is stalled while 16
// requests arrive, so each admitted one holds its locked buffers; the rest
// must be refused with 503, and after the engine runs again the admitted
// ones complete with the exact greedy text.
//
// The child process has its own harness, model and engine: nothing it
// allocates escapes its budget, as in production.
func lockedChild(t *testing.T) {
	limit, err := locked.RaiseLimit()
	if err != nil {
		t.Fatal(err)
	}
	if limit < 0 || limit >= memlockLimit {
		t.Fatalf("budget %d: not running unprivileged under the memlock limit", limit)
	}
	budget := locked.NewBudget(limit)
	const n = 16
	// More slots than the budget admits requests: a queued request then
	// never waits for another to finish (see TestQueuedRequestsAllServed).
	h := newHarness(t, config{slots: 8, queueDepth: 2 * n, budget: budget, devices: 1, streamsPerDevice: n})
	c := h.client(h.devices[0], crypto.SuiteX25519)
	h.expected(prompt(0), 8)
	st := stall(t, h.engine)

	var (
		mu         sync.Mutex
		ok, refuse int
		started    = make(chan *result, n) // 200 headers seen
		wg         sync.WaitGroup
	)
	for range n {
		s := c.seal(chatJSON(prompt(0), 8))
		wg.Go(func() {
			resp := h.post(c.http, bytes.NewReader(s.body), int64(len(s.body)), s.header)
			defer resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				started <- nil
			}
			r := h.read(resp, s.sc)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case r.status == http.StatusOK && r.streamErr == nil && r.text == h.expected(prompt(0), 8).text:
				ok++
			case r.status == 503 && r.prob.Type == problem.TypeBase+problem.Overloaded:
				refuse++
			default:
				t.Errorf("%d %s %v", r.status, r.body, r.streamErr)
			}
		})
	}
	// Every request is either refused or waiting in the engine's queue.
	waitFor(t, "all requests to be admitted or refused", time.Minute, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return refuse+h.engine.Stats().Queued == n
	})
	st.free()
	wg.Wait()
	fmt.Printf("locked-child: ok=%d overloaded=%d peak=%d limit=%d\n", ok, refuse, budget.Peak(), limit)
	if ok == 0 || refuse == 0 || ok+refuse != n {
		t.Errorf("ok %d, overloaded %d of %d: the budget should admit some and refuse some", ok, refuse, n)
	}
	if budget.Peak() > limit {
		t.Errorf("peak %d over the budget %d", budget.Peak(), limit)
	}
}

func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
