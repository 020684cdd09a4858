package keys

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/sottolabs/sotto/internal/locked"
	"github.com/sottolabs/sotto/internal/secretfile"
)

// checkDir checks the key directory itself (secretfile.CheckDir: plain,
// 0700, owned by the service user).
func checkDir(dir string) error {
	if err := secretfile.CheckDir(dir); err != nil {
		return fmt.Errorf("keys: key directory: %w", err)
	}
	return nil
}

// readSecret reads the key file at path into locked memory through
// secretfile.Read (no symbolic links, 0600, owner check). The caller
// destroys the returned buffer; only b[:n] is content.
func readSecret(path string, budget *locked.Budget) (buf *locked.Buffer, n int, err error) {
	buf, n, err = secretfile.Read(path, maxFileSize, budget)
	switch {
	case errors.Is(err, secretfile.ErrTooLarge):
		return nil, 0, fmt.Errorf("%w: %w", ErrFormat, err)
	case err != nil:
		return nil, 0, fmt.Errorf("keys: %w", err)
	}
	return buf, n, nil
}

// writeSecret replaces dir/name with data atomically (secretfile.Write).
func writeSecret(dir, name string, data []byte) error {
	if err := secretfile.Write(filepath.Join(dir, name), data, true); err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	return nil
}
