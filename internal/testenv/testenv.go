// Package testenv finds the files tests share: the GGUF models in
// ../shared/models (SOTTO_MODELS_DIR), the protocol's reference vectors
// (SOTTO_REFERENCE_VECTORS) and the repository root. In CI (CI=true) a
// missing file fails the test; elsewhere it skips it. stories260K.gguf,
// the one trained model tests need, is the copy embedded in the
// repository (internal/demomodel), so those tests run everywhere.
package testenv

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/sottolabs/sotto/internal/demomodel"
)

// RepoRoot returns the directory holding go.mod.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("testenv: go.mod not found above the working directory")
		}
		dir = parent
	}
}

// ModelsDir returns the directory of shared test models.
func ModelsDir(t testing.TB) string {
	t.Helper()
	dir := modelsDirPath(t)
	requireFile(t, dir, "SOTTO_MODELS_DIR")
	return dir
}

func modelsDirPath(t testing.TB) string {
	t.Helper()
	if dir := os.Getenv("SOTTO_MODELS_DIR"); dir != "" {
		return dir
	}
	return filepath.Join(RepoRoot(t), "..", "shared", "models")
}

// HaveModelsDir reports whether the shared models directory exists.
func HaveModelsDir(t testing.TB) bool {
	t.Helper()
	_, err := os.Stat(modelsDirPath(t))
	return err == nil
}

// Model returns the path of a test model: for stories260K.gguf a fresh
// copy of the embedded demo model in the test's temporary directory
// (a real file, so child processes can open it too), for any other name
// the file in ModelsDir, failing or skipping the test when it is missing.
func Model(t testing.TB, name string) string {
	t.Helper()
	if name == demomodel.Name {
		p, err := demomodel.WriteFile(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	p := filepath.Join(ModelsDir(t), name)
	requireFile(t, p, "SOTTO_MODELS_DIR")
	return p
}

// ReferenceVectors returns the path of the protocol's independent
// reference vectors (vectors-v1.json).
func ReferenceVectors(t testing.TB) string {
	t.Helper()
	p := os.Getenv("SOTTO_REFERENCE_VECTORS")
	if p == "" {
		p = filepath.Join(RepoRoot(t), "..", "shared", "spec", "vectors-v1.json")
	}
	requireFile(t, p, "SOTTO_REFERENCE_VECTORS")
	return p
}

// InCI reports whether the tests run in CI, where nothing may be skipped
// for want of a file.
func InCI() bool { return os.Getenv("CI") == "true" }

func requireFile(t testing.TB, path, envVar string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		if InCI() {
			t.Fatalf("testenv: %s missing (set %s): %v", path, envVar, err)
		}
		t.Skipf("testenv: %s missing (set %s)", path, envVar)
	}
}

// Unhex decodes a hex string from a test vector, failing the test on bad
// input.
func Unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("testenv: bad hex in a test vector: %v", err)
	}
	return b
}

// SyncBuffer is an io.Writer safe for concurrent use, for collecting a
// server's or a child process's output while the test reads it.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// Bytes returns a copy of everything written so far.
func (b *SyncBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

// String returns everything written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// RequireRoot skips the test when the process is not root, or fails it
// in CI (which runs as root, so a skip there would hide a lost test).
// why says what root is needed for.
func RequireRoot(t testing.TB, why string) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if InCI() {
		t.Fatal("needs root (CI runs as root): " + why)
	}
	t.Skip("needs root: " + why)
}
