package wire

import (
	"net/http"
	"slices"
	"testing"
)

// TestProblemCatalogue: every name has a status that is an HTTP error and
// a title; names are unique; an unknown name is not found.
func TestProblemCatalogue(t *testing.T) {
	names := ProblemNames()
	if len(names) != 15 {
		t.Fatalf("%d problems, want 15", len(names))
	}
	for _, n := range names {
		k, ok := LookupProblem(n)
		if !ok || k.Status < 400 || http.StatusText(k.Status) == "" || k.Title == "" {
			t.Errorf("%s: %+v %v", n, k, ok)
		}
	}
	if len(slices.Compact(slices.Sorted(slices.Values(names)))) != len(names) {
		t.Error("a name is listed twice")
	}
	if _, ok := LookupProblem("nope"); ok {
		t.Error("unknown name found")
	}
	if got := ProblemType(ProblemDate); got != "https://sotto.invalid/problems/v1#date" {
		t.Errorf("type = %q", got)
	}
	if k, _ := LookupProblem(ProblemKey); k.Status != 422 {
		t.Errorf("key status %d", k.Status)
	}
}
