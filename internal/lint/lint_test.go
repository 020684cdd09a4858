package lint

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sottolabs/sotto/internal/testenv"
)

// goPackages returns, for every directory of the repository holding
// non-test Go files (testdata and hidden directories excluded), the list of
// those files.
func goPackages(t *testing.T) map[string][]string {
	t.Helper()
	root := testenv.RepoRoot(t)
	pkgs := map[string][]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (name == "testdata" || name == "bin" || name == "node_modules" || strings.HasPrefix(name, ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go") {
			rel, _ := filepath.Rel(root, filepath.Dir(path))
			pkgs[rel] = append(pkgs[rel], path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return pkgs
}

// TestOnePackageDoc checks that every package documents itself exactly once,
// so `go doc` shows one clear description (as filippo.io/age and tailscale do).
func TestOnePackageDoc(t *testing.T) {
	pkgs := goPackages(t)
	if len(pkgs) < 3 {
		t.Fatalf("found only %d packages; is the walk broken?", len(pkgs))
	}
	for dir, files := range pkgs {
		var withDoc []string
		for _, f := range files {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			parsed, err := parser.ParseFile(token.NewFileSet(), f, src, parser.PackageClauseOnly|parser.ParseComments)
			if err != nil {
				t.Fatal(err)
			}
			if parsed.Doc != nil {
				withDoc = append(withDoc, filepath.Base(f))
			}
		}
		if len(withDoc) != 1 {
			t.Errorf("package %s: %d files with a package doc comment %v, want exactly 1", dir, len(withDoc), withDoc)
		}
	}
}
