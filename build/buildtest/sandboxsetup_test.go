package buildtest

import (
	"crypto/ed25519"
	"encoding/base64"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sottolabs/sotto/internal/demomodel"
	"github.com/sottolabs/sotto/internal/testenv"
)

// preparedServer is what the sandboxed server needs: a freshly built
// binary, keys, an enrolled device, and its environment.
type preparedServer struct {
	dir         string // everything the server may write is below it
	binary      string
	socket      string
	metricsAddr string
	deviceKey   string
	pin         ed25519.PublicKey
	env         []string
}

// prepareServer builds cmd/sotto (with the caller's cgo environment: run
// under make, or after eval "$(make -s env)", or llama.cpp recompiles),
// creates production keys and an allow-list owned by nobody, and returns
// the unit's Environment= with only the paths replaced.
func prepareServer(t *testing.T, u unit) *preparedServer {
	t.Helper()
	dir, err := os.MkdirTemp("", "sotto-sandbox-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	// The demo model (stories260K), written where the service user can read it.
	model, err := demomodel.WriteFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := &preparedServer{
		dir: dir, binary: filepath.Join(dir, "sotto"), socket: filepath.Join(dir, "run", "sotto.sock"),
		metricsAddr: freeLoopback(t), deviceKey: filepath.Join(dir, "device.key"),
	}
	goTool := requireTool(t, "go", "golang")
	build := exec.Command(goTool, "build", "-o", s.binary, "./cmd/sotto")
	build.Dir = testenv.RepoRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	keyDir, allow := filepath.Join(dir, "state", "keys"), filepath.Join(dir, "devices")
	run(t, s.binary, "keys", "init", "--dir", keyDir)
	s.pin = parsePin(t, run(t, s.binary, "keys", "show", "--dir", keyDir, "--pin"))
	pub := run(t, s.binary, "device", "init", "--out", s.deviceKey)
	run(t, s.binary, "device", "allow", pub, "--allow-list", allow)
	if err := os.Mkdir(filepath.Dir(s.socket), 0o750); err != nil {
		t.Fatal(err)
	}
	giveToNobody(t, dir, s.deviceKey) // the device key is the client's, and stays root's
	s.env = append(u.environment(),
		"SOTTO_LISTEN=unix:"+s.socket, "SOTTO_METRICS_LISTEN="+s.metricsAddr,
		"SOTTO_KEY_DIR="+keyDir, "SOTTO_ALLOW_LIST="+allow, "SOTTO_MODEL="+model,
		// Small, so the test shares a busy machine politely.
		"SOTTO_SLOTS=1", "SOTTO_CONTEXT=512", "SOTTO_THREADS=1", "LOG_FORMAT=text",
	)
	return s
}

// giveToNobody makes dir traversable and everything in it owned by nobody,
// as StateDirectory= and RuntimeDirectory= do for the unit's user, except
// the path keep.
func giveToNobody(t *testing.T, dir, keep string) {
	t.Helper()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	err := filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil || p == dir || p == keep {
			return err
		}
		return os.Lchown(p, nobody, nobody)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// run runs a short sotto subcommand and returns its trimmed stdout.
func run(t *testing.T, binary string, args ...string) string {
	t.Helper()
	out, err := exec.Command(binary, args...).Output()
	if err != nil {
		t.Fatalf("sotto %s: %v", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out))
}

func parsePin(t *testing.T, s string) ed25519.PublicKey {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(s, "ed25519:"))
	if err != nil || len(b) != ed25519.PublicKeySize {
		t.Fatalf("sotto keys show --pin printed no Ed25519 key")
	}
	return b
}

// freeLoopback returns a loopback address with a port free right now
// (testenv.FreeAddr: below the kernel's ephemeral range).
func freeLoopback(t *testing.T) string { return testenv.FreeAddr(t) }
