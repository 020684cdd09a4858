package lint

import (
	"go/parser"
	"go/token"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/sottolabs/sotto"

// importGraph maps every package of the module (by its path relative to
// the repository root, "." for the root) to the module packages its
// non-test files import, whatever their build tags.
func importGraph(t *testing.T) map[string][]string {
	t.Helper()
	graph := map[string][]string{}
	for dir, files := range goPackages(t) {
		for _, f := range files {
			parsed, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range parsed.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				if rel, ok := strings.CutPrefix(p, module+"/"); ok && !slices.Contains(graph[dir], rel) {
					graph[dir] = append(graph[dir], rel)
				}
			}
		}
		if _, ok := graph[dir]; !ok {
			graph[dir] = nil
		}
	}
	return graph
}

// deps returns every module package pkg imports, directly or not.
func deps(graph map[string][]string, pkg string) map[string]bool {
	seen := map[string]bool{}
	var walk func(string)
	walk = func(p string) {
		for _, d := range graph[p] {
			if !seen[d] {
				seen[d] = true
				walk(d)
			}
		}
	}
	walk(pkg)
	return seen
}

// within reports whether pkg is root or below it.
func within(pkg, root string) bool { return pkg == root || strings.HasPrefix(pkg, root+"/") }

// blindPackages may never open what they relay: the router of the
// multi-node design. They must not reach llama.cpp or the key directory
// (crypto/keys: HPKE private keys, the signing key) through any import,
// and must not import internal/locked (plaintext memory) themselves. They
// do reach internal/locked through crypto (the envelope header parser
// lives beside Open) and crypto/device (whose key generation is
// locked): those packages hold no key of the server.
var blindPackages = []string{"server/router"}

// TestImportRules enforces the layering the design relies on:
//   - nothing imports cmd/... (the binary is wiring only);
//   - the Go client SDK (client/..., except the clienttest fake server,
//     which writes real problem documents with server/problem) reaches no
//     server/... and no llama;
//   - only the binary, the composition root and llama's own tools reach
//     the cgo llama package; the server edge does not;
//   - blind packages reach neither llama nor crypto/keys, and import
//     internal/locked neither.
func TestImportRules(t *testing.T) {
	graph := importGraph(t)
	if len(graph) < 10 {
		t.Fatalf("found only %d packages; is the walk broken?", len(graph))
	}
	for pkg, direct := range graph {
		for _, d := range direct {
			if within(d, "cmd") {
				t.Errorf("%s imports %s: nothing imports cmd/...", pkg, d)
			}
		}
		all := deps(graph, pkg)
		if within(pkg, "client") && pkg != "client/clienttest" {
			forbid(t, pkg, all, "server", "llama")
		}
		if within(pkg, "server") {
			forbid(t, pkg, all, "llama")
		}
		if slices.Contains(blindPackages, pkg) {
			forbid(t, pkg, all, "llama", "crypto/keys")
			if slices.Contains(direct, "internal/locked") {
				t.Errorf("%s imports internal/locked: a blind package holds no plaintext", pkg)
			}
		}
	}
}

// forbid fails for every dependency of pkg within one of the roots.
func forbid(t *testing.T, pkg string, all map[string]bool, roots ...string) {
	t.Helper()
	for d := range all {
		for _, r := range roots {
			if within(d, r) {
				t.Errorf("%s reaches %s (via its imports): forbidden", pkg, d)
			}
		}
	}
}

// TestImportRulesBite: the checks see a real dependency (cmd/sotto
// reaches llama through internal/node), so an empty graph cannot pass
// them silently.
func TestImportRulesBite(t *testing.T) {
	graph := importGraph(t)
	if !deps(graph, "cmd/sotto")["llama"] || !deps(graph, "internal/node")["server"] {
		t.Fatalf("graph misses known edges: %v", graph["internal/node"])
	}
	for _, pkg := range blindPackages {
		if _, ok := graph[pkg]; !ok {
			t.Errorf("blind package %s does not exist: the rule checks nothing", pkg)
		}
	}
}

// TestRouterLinksNoLlama asks the go command itself (go list -deps, build
// tags applied) that the router's dependencies contain neither our
// llama.cpp binding nor the ollama module that compiles llama.cpp.
func TestRouterLinksNoLlama(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", module+"/server/router").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 20 || !slices.Contains(deps, module+"/crypto/wire") {
		t.Fatalf("go list -deps looks wrong: %d packages", len(deps))
	}
	for _, d := range deps {
		if d == module+"/llama" || strings.HasPrefix(d, "github.com/ollama/ollama") || d == module+"/crypto/keys" {
			t.Errorf("server/router links %s", d)
		}
	}
}
