package secretfile

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/sottolabs/sotto/internal/locked"
)

// TestWriteRead: a written file is 0600 with exactly the data; without
// replace an existing file is kept and the error is fs.ErrExist; with
// replace it is swapped; no temporary file is left behind.
func TestWriteRead(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "k")
	budget := locked.NewBudget(locked.Unlimited)
	if err := Write(path, []byte("one"), false); err != nil {
		t.Fatal(err)
	}
	if err := Write(path, []byte("two"), false); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second create: %v, want ErrExist", err)
	}
	assertContent(t, path, "one", budget)
	if err := Write(path, []byte("three"), true); err != nil {
		t.Fatal(err)
	}
	assertContent(t, path, "three", budget)
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %04o", fi.Mode().Perm())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("%d entries left in the directory, want 1", len(entries))
	}
}

func assertContent(t *testing.T, path, want string, budget *locked.Budget) {
	t.Helper()
	buf, n, err := Read(path, 64, budget)
	if err != nil {
		t.Fatal(err)
	}
	defer buf.Destroy()
	if !bytes.Equal(buf.Bytes()[:n], []byte(want)) {
		t.Fatalf("content %q, want %q", buf.Bytes()[:n], want)
	}
}

// TestReadRefuses: group-readable files, symbolic links, directories and
// oversized files are refused with their typed error.
func TestReadRefuses(t *testing.T) {
	dir := t.TempDir()
	budget := locked.NewBudget(locked.Unlimited)
	good := filepath.Join(dir, "good")
	if err := Write(good, []byte("x"), false); err != nil {
		t.Fatal(err)
	}
	open := filepath.Join(dir, "open")
	if err := os.WriteFile(open, []byte("x"), 0o640); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(good, link); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big")
	if err := Write(big, make([]byte, 65), false); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]error{open: ErrPermissions, dir: ErrPermissions, big: ErrTooLarge} {
		if _, _, err := Read(path, 64, budget); !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", filepath.Base(path), err, want)
		}
	}
	if _, _, err := Read(link, 64, budget); err == nil {
		t.Error("read through a symbolic link")
	}
	for mode, want := range map[os.FileMode]error{0o700: nil, 0o755: ErrPermissions} {
		if err := os.Chmod(dir, mode); err != nil {
			t.Fatal(err)
		}
		if err := CheckDir(dir); !errors.Is(err, want) {
			t.Errorf("directory %04o: %v, want %v", mode, err, want)
		}
	}
}
