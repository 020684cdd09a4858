package lint

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sottolabs/sotto/internal/testenv"
)

// The size rule of DEVELOPERS.md for non-test Go code.
const (
	maxFileLines = 500
	maxFuncLines = 60
)

// sizeExceptions lists files or functions ("path" or "path:Func") allowed
// over the limits, each with its reason. Keep it empty; an entry needs a
// reason a reviewer accepts.
var sizeExceptions = map[string]string{}

// TestSize checks that non-test Go files stay within maxFileLines and
// their functions within maxFuncLines, so the code stays readable as it
// grows.
func TestSize(t *testing.T) {
	root := testenv.RepoRoot(t)
	used := map[string]bool{}
	for _, files := range goPackages(t) {
		for _, f := range files {
			rel, _ := filepath.Rel(root, f)
			for _, v := range sizeViolations(t, f, rel) {
				if _, ok := sizeExceptions[v.key]; ok {
					used[v.key] = true
					continue
				}
				t.Errorf("%s", v.msg)
			}
		}
	}
	for key := range sizeExceptions {
		if !used[key] {
			t.Errorf("size exception %s is no longer needed: remove it", key)
		}
	}
}

type violation struct{ key, msg string }

func sizeViolations(t *testing.T, path, rel string) []violation {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []violation
	if n := strings.Count(string(src), "\n"); n > maxFileLines {
		out = append(out, violation{rel, rel + ": " + strconv.Itoa(n) + " lines, limit " + strconv.Itoa(maxFileLines)})
	}
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, path, src, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range file.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Body == nil {
			continue
		}
		lines := fset.Position(fn.End()).Line - fset.Position(fn.Pos()).Line + 1
		if lines > maxFuncLines {
			key := rel + ":" + fn.Name.Name
			out = append(out, violation{key, key + ": " + strconv.Itoa(lines) + " lines, limit " + strconv.Itoa(maxFuncLines)})
		}
	}
	return out
}
