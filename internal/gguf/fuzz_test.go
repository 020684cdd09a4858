package gguf

import (
	"bytes"
	"testing"
)

// FuzzRead: Read never panics; whatever it accepts, Writer reproduces
// stably (rewriting the rewrite gives the same bytes).
func FuzzRead(f *testing.F) {
	f.Add(minimalFile)
	f.Add(patch(offVersion, 2))
	f.Add(writeFile(f, allValues(f), []TensorInfo{{Name: "t", Shape: []uint64{32}, Type: TypeQ8_0}}, make([]byte, 34)))
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := read(b)
		if err != nil {
			return
		}
		if file.DataOffset > file.Size && len(file.Tensors) > 0 {
			t.Fatalf("data offset %d beyond size %d", file.DataOffset, file.Size)
		}
		once := rewrite(t, b)
		if twice := rewrite(t, once); !bytes.Equal(once, twice) {
			t.Fatal("rewrite is not stable")
		}
	})
}
