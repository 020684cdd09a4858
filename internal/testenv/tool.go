package testenv

import (
	"os/exec"
	"testing"
)

// RequireTool returns the path of the command name, or skips the test
// naming the Debian package that provides it; in CI (.ci/run installs
// every package the tests use) a missing tool fails the test instead, so
// a lost test cannot hide as a skip.
func RequireTool(t testing.TB, name, debianPackage string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if InCI() {
		t.Fatalf("%s not found: .ci/run must install the Debian package %s", name, debianPackage)
	}
	t.Skipf("%s not found (apt-get install %s)", name, debianPackage)
	return ""
}
