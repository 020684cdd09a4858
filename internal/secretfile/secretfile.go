// Package secretfile is the one implementation of secret-file I/O: HPKE
// and signing key files (crypto/keys) and device key files
// (crypto/device). A secret file is a regular file, never reached through
// a symbolic link, owned by the current user and closed to group and
// others (0600); its directory likewise (0700). Reads land in locked
// memory; writes are atomic (a synced 0600 temporary file renamed or
// linked into place, then the directory synced), so a crash leaves the
// old file or the new one, never half of one.
//
// Errors name the path and the rule broken, never the content.
package secretfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/sottolabs/sotto/internal/locked"
)

var (
	// ErrPermissions: the file or directory is not plain, is open to group
	// or others, or is owned by another user.
	ErrPermissions = errors.New("secretfile: unsafe permissions")
	// ErrTooLarge: the file is larger than the reader's bound.
	ErrTooLarge = errors.New("secretfile: file too large")
)

// Check refuses fi (of path) unless it is a plain directory (dir) or
// regular file, closed to group and others, owned by the current user.
func Check(path string, fi fs.FileInfo, dir bool) error {
	kind, mode := "file", "600"
	if dir {
		kind, mode = "directory", "700"
	}
	switch {
	case dir && !fi.IsDir(), !dir && !fi.Mode().IsRegular():
		return fmt.Errorf("%w: %s is not a plain %s", ErrPermissions, path, kind)
	case fi.Mode().Perm()&0o077 != 0:
		return fmt.Errorf("%w: %s is accessible to group or others (mode %04o); run chmod %s %s",
			ErrPermissions, path, fi.Mode().Perm(), mode, path)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("%w: %s is owned by uid %d, not by the service user (uid %d)",
			ErrPermissions, path, st.Uid, os.Geteuid())
	}
	return nil
}

// CheckDir checks a directory of secret files (not following a link).
func CheckDir(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("secretfile: %w", err)
	}
	return Check(dir, fi, true)
}

// Read reads the secret file at path into a locked buffer charged to
// budget, refusing it unless Check accepts the opened file or if it holds
// more than maxSize bytes. The caller destroys the buffer; only its first
// n bytes are content.
func Read(path string, maxSize int, budget *locked.Budget) (buf *locked.Buffer, n int, err error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, 0, fmt.Errorf("secretfile: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, 0, fmt.Errorf("secretfile: %w", err)
	}
	if err := Check(path, fi, false); err != nil {
		return nil, 0, err
	}
	buf, err = budget.Alloc(maxSize + 1)
	if err != nil {
		return nil, 0, fmt.Errorf("secretfile: %w", err)
	}
	n, err = io.ReadFull(f, buf.Bytes())
	if err != io.ErrUnexpectedEOF {
		buf.Destroy()
		if err == nil {
			return nil, 0, fmt.Errorf("%w: %s is larger than %d bytes", ErrTooLarge, path, maxSize)
		}
		return nil, 0, fmt.Errorf("secretfile: %w", err)
	}
	return buf, n, nil
}

// Write writes data to path atomically with mode 0600. With replace it
// renames over an existing file; without, it fails with an error wrapping
// fs.ErrExist if path exists (it never overwrites).
func Write(path string, data []byte, replace bool) error {
	dir := filepath.Dir(path)
	tmp, err := writeTemp(dir, data)
	if err != nil {
		return err
	}
	defer os.Remove(tmp) // after a rename: no-op; after a link: the temporary name
	if replace {
		err = os.Rename(tmp, path)
	} else {
		err = os.Link(tmp, path)
	}
	if err != nil {
		return fmt.Errorf("secretfile: %w", err)
	}
	return syncDir(dir)
}

// writeTemp writes data to a new synced 0600 temporary file in dir and
// returns its path.
func writeTemp(dir string, data []byte) (string, error) {
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return "", fmt.Errorf("secretfile: %w", err)
	}
	name := f.Name()
	err = f.Chmod(0o600)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(name)
		return "", fmt.Errorf("secretfile: %w", err)
	}
	return name, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("secretfile: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("secretfile: %w", err)
	}
	return nil
}
