// Package buildtest checks the deployment files under build/ with the
// tools that own their formats (systemd-analyze, caddy, nft, promtool,
// step-ca) and starts the single-node and worker units' command lines
// under the units' restrictions. It holds only tests and their helpers;
// nothing imports it.
//
// A missing tool skips its test with the package to install, except in CI
// (CI=true), where .ci/run installs every tool and a missing one fails;
// step and step-ca, which Debian does not package, .ci/run installs with
// go install.
package buildtest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sottolabs/sotto/internal/testenv"
)

// requireTool returns the path of the command name, or skips the test
// (fails it in CI) naming the Debian package that provides it.
func requireTool(t testing.TB, name, debianPackage string) string {
	t.Helper()
	return testenv.RequireTool(t, name, debianPackage)
}

// requireUnit skips the test (fails it in CI) when the systemd unit
// name, which a unit under build/ depends on, is not installed, naming
// the Debian package that provides it.
func requireUnit(t testing.TB, name, debianPackage string) {
	t.Helper()
	for _, dir := range []string{"/etc/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return
		}
	}
	if testenv.InCI() {
		t.Fatalf("buildtest: systemd unit %s not found: .ci/run must install the Debian package %s", name, debianPackage)
	}
	t.Skipf("buildtest: systemd unit %s not found (apt-get install %s)", name, debianPackage)
}

// buildFile returns the path of a file under build/.
func buildFile(t testing.TB, rel string) string {
	t.Helper()
	return filepath.Join(testenv.RepoRoot(t), "build", filepath.FromSlash(rel))
}
