package lint

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sottolabs/sotto/internal/testenv"
)

// maxTrackedBytes is the largest file the repository may track.
const maxTrackedBytes = 2 << 20

// demoModelDir may hold one embedded demo model (*.gguf) of any size.
const demoModelDir = "internal/demomodel/"

// executableKind names the executable format whose magic number starts
// head (ELF, Mach-O, PE), or returns "".
func executableKind(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte("\x7fELF")):
		return "ELF"
	case bytes.HasPrefix(head, []byte("MZ")):
		return "PE"
	case len(head) >= 4:
		switch binary.BigEndian.Uint32(head) {
		case 0xFEEDFACE, 0xFEEDFACF, 0xCEFAEDFE, 0xCFFAEDFE, 0xCAFEBABE:
			return "Mach-O"
		}
	}
	return ""
}

// trackedFiles lists the files git tracks, relative to root.
func trackedFiles(t *testing.T, root string) []string {
	t.Helper()
	out, err := exec.Command("git", "-C", root, "ls-files", "-z").Output()
	if err != nil {
		if testenv.InCI() {
			t.Fatalf("git ls-files: %v", err)
		}
		t.Skipf("not a git checkout (or no git): %v", err)
	}
	return strings.Split(strings.TrimRight(string(out), "\x00"), "\x00")
}

// TestNoBuildOutputTracked: no tracked file is an executable (ELF, Mach-O,
// PE) or larger than 2 MiB, except one demo model under
// internal/demomodel, so build output cannot be committed again (a 21 MB
// sotto binary once was).
func TestNoBuildOutputTracked(t *testing.T) {
	root := testenv.RepoRoot(t)
	files := trackedFiles(t, root)
	if len(files) < 50 {
		t.Fatalf("git tracks only %d files; is the listing broken?", len(files))
	}
	models := 0
	for _, rel := range files {
		f, err := os.Open(filepath.Join(root, rel))
		if os.IsNotExist(err) {
			continue // deleted in the work tree, not yet committed
		}
		if err != nil {
			t.Fatal(err)
		}
		head := make([]byte, 4)
		n, _ := io.ReadFull(f, head)
		st, err := f.Stat()
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if st.IsDir() {
			continue // a submodule
		}
		demo := strings.HasPrefix(rel, demoModelDir) && strings.HasSuffix(rel, ".gguf")
		if demo {
			models++
		}
		if kind := executableKind(head[:n]); kind != "" {
			t.Errorf("%s is an %s executable: build output must not be committed", rel, kind)
		}
		if st.Size() > maxTrackedBytes && !demo {
			t.Errorf("%s is %d bytes, over the 2 MiB limit for tracked files", rel, st.Size())
		}
	}
	if models > 1 {
		t.Errorf("%d demo models under %s; one is allowed", models, demoModelDir)
	}
}

// TestExecutableKind: the detector knows this test binary and text.
func TestExecutableKind(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(self)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	head := make([]byte, 4)
	if _, err := io.ReadFull(f, head); err != nil {
		t.Fatal(err)
	}
	if got := executableKind(head); got != "ELF" {
		t.Fatalf("test binary detected as %q, want ELF", got)
	}
	for in, want := range map[string]string{"MZ\x90\x00": "PE", "\xcf\xfa\xed\xfe": "Mach-O", "pack": "", "# So": ""} {
		if got := executableKind([]byte(in)); got != want {
			t.Errorf("executableKind(%q) = %q, want %q", in, got, want)
		}
	}
}
