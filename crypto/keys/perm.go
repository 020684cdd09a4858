package keys

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/sottolabs/sotto/internal/locked"
)

// checkMode refuses a key directory or key file that anyone but its owner
// may access, that the current user does not own, or that is not a plain
// directory (dir) or regular file.
func checkMode(path string, fi fs.FileInfo, dir bool) error {
	switch {
	case dir && !fi.IsDir(), !dir && !fi.Mode().IsRegular():
		return fmt.Errorf("%w: %s is not a plain %s", ErrPermissions, path, kind(dir))
	case fi.Mode().Perm()&0o077 != 0:
		return fmt.Errorf("%w: %s is accessible to group or others (mode %04o); run chmod %s %s",
			ErrPermissions, path, fi.Mode().Perm(), modeFor(dir), path)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("%w: %s is owned by uid %d, not by the service user (uid %d)",
			ErrPermissions, path, st.Uid, os.Geteuid())
	}
	return nil
}

func kind(dir bool) string {
	if dir {
		return "directory"
	}
	return "file"
}

func modeFor(dir bool) string {
	if dir {
		return "700"
	}
	return "600"
}

// checkDir checks the key directory itself.
func checkDir(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("keys: key directory: %w", err)
	}
	return checkMode(dir, fi, true)
}

// readSecret reads the key file at path into locked memory, refusing it
// unless checkMode accepts the opened file. It never follows a symbolic
// link. The caller destroys the returned buffer; only b[:n] is content.
func readSecret(path string, budget *locked.Budget) (buf *locked.Buffer, n int, err error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, 0, fmt.Errorf("keys: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, 0, fmt.Errorf("keys: %w", err)
	}
	if err := checkMode(path, fi, false); err != nil {
		return nil, 0, err
	}
	buf, err = budget.Alloc(maxFileSize + 1)
	if err != nil {
		return nil, 0, fmt.Errorf("keys: %w", err)
	}
	n, err = io.ReadFull(f, buf.Bytes())
	if err != io.ErrUnexpectedEOF {
		buf.Destroy()
		if err == nil {
			return nil, 0, fmt.Errorf("%w: %s is larger than %d bytes", ErrFormat, path, maxFileSize)
		}
		return nil, 0, fmt.Errorf("keys: %w", err)
	}
	return buf, n, nil
}

// writeSecret replaces dir/name with data atomically: a 0600 temporary
// file in dir, synced, then renamed over the old file.
func writeSecret(dir, name string, data []byte) error {
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after the rename
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("keys: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("keys: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("keys: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	return nil
}
