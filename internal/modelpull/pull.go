package modelpull

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
)

// Options tune Pull. The zero value uses http.DefaultClient and prints
// nothing.
type Options struct {
	Client *http.Client
	// Out receives status lines and the progress; nil discards them.
	Out io.Writer
	// Terminal draws a progress bar (bytes, rate, ETA) on Out; otherwise
	// Out gets a plain line at every tenth of the download.
	Terminal bool
}

func (o *Options) client() *http.Client {
	if o.Client != nil {
		return o.Client
	}
	return http.DefaultClient
}

func (o *Options) out() io.Writer {
	if o.Out != nil {
		return o.Out
	}
	return io.Discard
}

// Pull makes dir/e.File the pinned file and returns its path. A file
// already there is verified and kept; a different one is left alone
// (ErrExists). The download goes to File+".part", resumes from what an
// earlier attempt left, and is renamed only once its size and sha256 are
// the pinned ones; a mismatch deletes it (ErrChecksum).
func Pull(ctx context.Context, e Entry, dir string, o Options) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("modelpull: %w", err)
	}
	dest := filepath.Join(dir, e.File)
	if ok, err := present(dest, e); ok || err != nil {
		if err == nil {
			fmt.Fprintf(o.out(), "pull: %s is already here (sha256 verified)\n", dest)
		}
		return dest, err
	}
	part := dest + ".part"
	have := partSize(part, e.Size)
	if have < e.Size {
		if err := download(ctx, e, part, have, &o); err != nil {
			return "", err
		}
	}
	fmt.Fprintf(o.out(), "pull: verifying sha256 of %s\n", e.File)
	if err := verifyAndRename(part, dest, e); err != nil {
		return "", err
	}
	fmt.Fprintf(o.out(), "pull: %s ready (%d bytes, sha256 verified)\n", dest, e.Size)
	return dest, nil
}

// present reports whether dest is already the pinned file; a different
// file there is ErrExists.
func present(dest string, e Entry) (bool, error) {
	if _, err := os.Stat(dest); errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err := verify(dest, e); err != nil {
		return false, fmt.Errorf("%w: %s is not the pinned %s (%w); move it away and pull again", ErrExists, dest, e.Name, err)
	}
	return true, nil
}

// partSize is how much of the download an earlier attempt left; a part
// longer than the file cannot be a prefix of it and is dropped.
func partSize(part string, size int64) int64 {
	fi, err := os.Lstat(part)
	if err != nil || !fi.Mode().IsRegular() {
		return 0
	}
	if fi.Size() > size {
		os.Remove(part)
		return 0
	}
	return fi.Size()
}

// verify checks the file's size and sha256 against the entry.
func verify(path string, e Entry) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("modelpull: %w", err)
	}
	defer f.Close()
	return verifyFile(f, e)
}

// verifyFile checks the size and sha256 of what f holds.
func verifyFile(f *os.File, e Entry) error {
	n, got, err := SHA256(f)
	if err != nil {
		return err
	}
	if n != e.Size || got != e.SHA256 {
		return fmt.Errorf("%w: got %d bytes with sha256 %s, want %d bytes with sha256 %s", ErrChecksum, n, got, e.Size, e.SHA256)
	}
	return nil
}

// SHA256 reads r to its end and returns its length and sha256 in lower
// case hex (as pinned in the catalogue and SOTTO_MODEL_SHA256).
func SHA256(r io.Reader) (int64, string, error) {
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return n, "", fmt.Errorf("modelpull: %w", err)
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}
