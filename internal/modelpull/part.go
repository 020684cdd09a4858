package modelpull

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// ErrNotRegular: the partial download is a symbolic link or not a
// regular file; nothing is written through it or renamed.
var ErrNotRegular = errors.New("modelpull: the partial download is not a regular file")

// openPart opens the partial download without following a symbolic link
// (O_NOFOLLOW): a link planted at .part would otherwise receive the
// download, or be renamed into place after another file was verified.
func openPart(part string, flags int) (*os.File, error) {
	f, err := os.OpenFile(part, flags|syscall.O_NOFOLLOW, 0o644)
	if errors.Is(err, syscall.ELOOP) {
		return nil, fmt.Errorf("%w: %s is a symbolic link; remove it and pull again", ErrNotRegular, part)
	}
	if err != nil {
		return nil, fmt.Errorf("modelpull: %w", err)
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%w: %s", ErrNotRegular, part)
	}
	return f, nil
}

// beforeRename runs between the verification and the rename (tests swap
// the file there).
var beforeRename = func() {}

// verifyAndRename verifies the open file (not a path that could be
// swapped afterwards), renames part to dest, and checks that dest is the
// very file verified (same device and inode); otherwise dest is removed
// and the pull fails. A mismatch of the bytes deletes the download.
func verifyAndRename(part, dest string, e Entry) error {
	f, err := openPart(part, os.O_RDONLY)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := verifyFile(f, e); err != nil {
		os.Remove(part)
		return fmt.Errorf("%w: %s; the download was deleted, run the pull again", err, e.File)
	}
	verified, err := f.Stat()
	if err != nil {
		return fmt.Errorf("modelpull: %w", err)
	}
	beforeRename()
	if err := os.Rename(part, dest); err != nil {
		return fmt.Errorf("modelpull: %w", err)
	}
	if got, err := os.Lstat(dest); err != nil || !os.SameFile(got, verified) {
		os.Remove(dest)
		return fmt.Errorf("%w: %s was replaced while it was verified; run the pull again", ErrChecksum, part)
	}
	return nil
}
