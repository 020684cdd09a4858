package gguf

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/sottolabs/sotto/internal/testenv"
)

// rewrite reads the GGUF file in b and writes it again with Writer,
// copying the tensor data.
func rewrite(t testing.TB, b []byte) []byte {
	t.Helper()
	f, err := Read(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	w, err := NewWriter(&out, f.KV, f.Tensors)
	if err != nil {
		t.Fatal(err)
	}
	for _, ti := range f.Tensors {
		start := f.DataOffset + int64(ti.Offset)
		if _, err := io.Copy(w, bytes.NewReader(b[start:start+int64(ti.Bytes())])); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestRoundTripSharedModels: reading then writing every shared test model
// reproduces its bytes exactly.
func TestRoundTripSharedModels(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join(testenv.ModelsDir(t), "*.gguf"))
	if len(paths) != 15 {
		t.Fatalf("found %d shared models, want 15", len(paths))
	}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			got := rewrite(t, b)
			if !bytes.Equal(got, b) {
				n := 0
				for n < min(len(got), len(b)) && got[n] == b[n] {
					n++
				}
				t.Fatalf("rewrite differs: %d bytes vs %d, first difference at %d", len(got), len(b), n)
			}
		})
	}
}
