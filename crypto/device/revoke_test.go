package device

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestRevoke: revoke removes every line of the key and nothing else
// (comments, other keys, the mode stay), refuses an absent key and a file
// that does not parse, and the file is replaced, never half written.
func TestRevoke(t *testing.T) {
	path := filepath.Join(t.TempDir(), "allow")
	a, b := NewTestKey(1), NewTestKey(2)
	content := "# phones\n" + a.String() + "\n" + b.String() + "  # laptop\n" + a.String() + " # again\n"
	if err := os.WriteFile(path, []byte(content), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := Revoke(path, a); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	if want := "# phones\n" + b.String() + "  # laptop\n"; string(got) != want {
		t.Errorf("after revoke:\n%s\nwant\n%s", got, want)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640", fi.Mode().Perm())
	}
	if err := Revoke(path, a); !errors.Is(err, ErrNotListed) {
		t.Errorf("revoking an absent key: %v, want ErrNotListed", err)
	}
	al, err := LoadAllowList(path)
	if err != nil || al.Len() != 1 {
		t.Fatalf("reload: %v, %d keys", err, al.Len())
	}
	if err := os.WriteFile(path, []byte("not-a-key\n"+b.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Revoke(path, b); !errors.Is(err, ErrKeyFormat) {
		t.Errorf("revoking from a broken file: %v, want ErrKeyFormat", err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
}
