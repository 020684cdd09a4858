package buildtest

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sottolabs/sotto/internal/testenv"
)

// testRef is a `package/dir.TestName` reference in the threat model.
var testRef = regexp.MustCompile("`([a-z0-9_/]+)\\.(Test[A-Za-z0-9_]+)`")

// TestThreatModelTestsExist checks that every test the threat model's
// table names is a test function in that package's _test.go files.
func TestThreatModelTestsExist(t *testing.T) {
	root := testenv.RepoRoot(t)
	data, err := os.ReadFile(filepath.Join(root, "docs", "threat-model.md"))
	if err != nil {
		t.Fatal(err)
	}
	refs := testRef.FindAllStringSubmatch(string(data), -1)
	if len(refs) < 30 {
		t.Fatalf("found %d test references; is the pattern broken?", len(refs))
	}
	for _, r := range refs {
		dir, name := r[1], r[2]
		files, _ := filepath.Glob(filepath.Join(root, filepath.FromSlash(dir), "*_test.go"))
		if !declares(t, files, name) {
			t.Errorf("docs/threat-model.md names %s.%s, which does not exist", dir, name)
		}
	}
}

// declares reports whether one of files declares func name(.
func declares(t *testing.T, files []string, name string) bool {
	t.Helper()
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(src), "\nfunc "+name+"(") {
			return true
		}
	}
	return false
}
