package demomodel

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"testing"

	"github.com/sottolabs/sotto/internal/engine"
)

// TestEmbeddedHash: the embedded bytes are the pinned file.
func TestEmbeddedHash(t *testing.T) {
	r, err := Reader()
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	if len(b) != Size || hex.EncodeToString(sum[:]) != SHA256 {
		t.Fatalf("embedded model: %d bytes, sha256 %x", len(b), sum)
	}
}

// TestOpenMemfd: Open names a sealed in-memory file holding exactly the
// model, which cannot be written, and which is gone after Close.
func TestOpenMemfd(t *testing.T) {
	f, err := Open()
	if err != nil {
		t.Fatal(err)
	}
	path := f.Path()
	if want := "/proc/self/fd/"; len(path) <= len(want) || path[:len(want)] != want {
		t.Fatalf("path %q: not a memfd (Linux with /proc should give one)", path)
	}
	assertModelAt(t, path)
	if w, err := os.OpenFile(path, os.O_WRONLY, 0); err == nil {
		_, werr := w.Write([]byte("x"))
		w.Close()
		if werr == nil {
			t.Fatal("the sealed memfd accepted a write")
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := os.Stat(path); err == nil {
		// the descriptor number may be reused by another file: only
		// check it is not our model any more
		if b, _ := os.ReadFile(path); len(b) == Size {
			t.Fatal("the memfd is still open after Close")
		}
	}
}

// TestOpenTemp: the fallback writes a 0600 copy that Close removes.
func TestOpenTemp(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	r, _ := Reader()
	f, err := openTemp(r)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(f.Path())
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", fi.Mode().Perm())
	}
	assertModelAt(t, f.Path())
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(f.Path()); !os.IsNotExist(err) {
		t.Fatalf("temporary copy not removed: %v", err)
	}
}

// TestWriteFile: the copy for child processes is the pinned file.
func TestWriteFile(t *testing.T) {
	path, err := WriteFile(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	assertModelAt(t, path)
}

func assertModelAt(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	if hex.EncodeToString(sum[:]) != SHA256 {
		t.Fatalf("%s: sha256 %x, want %s", path, sum, SHA256)
	}
}

func msg(r engine.Role, s string) engine.Message { return engine.Message{Role: r, Content: []byte(s)} }

// TestTemplate: exact prompts for the shapes a chat takes, and the
// too-small buffer contract.
func TestTemplate(t *testing.T) {
	sys, user, asst := engine.RoleSystem, engine.RoleUser, engine.RoleAssistant
	for _, tc := range []struct {
		name      string
		msgs      []engine.Message
		assistant bool
		want      string
	}{
		{"one turn", []engine.Message{msg(user, "Tell me a story")}, true, "Tell me a story\n"},
		{"system left out", []engine.Message{msg(sys, "You are helpful."), msg(user, "A cat")}, true, "A cat\n"},
		{"multi turn", []engine.Message{msg(user, "a"), msg(asst, "b c."), msg(user, "d")}, true, "a\nb c.\nd\n"},
		{"no assistant prefix", []engine.Message{msg(user, "a"), msg(asst, "b")}, false, "a\nb"},
		{"only system", []engine.Message{msg(sys, "x")}, true, "\n"},
		{"only system, no prefix", []engine.Message{msg(sys, "x")}, false, ""},
	} {
		dst := make([]byte, 64)
		n := Template(tc.msgs, tc.assistant, dst)
		if got := string(dst[:n]); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
		if tc.want == "" {
			continue
		}
		if n := Template(tc.msgs, tc.assistant, make([]byte, len(tc.want)-1)); n != len(tc.want) {
			t.Errorf("%s: short buffer: n %d, want %d", tc.name, n, len(tc.want))
		}
	}
}
