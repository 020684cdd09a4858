package device

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	"github.com/sottolabs/sotto/internal/locked"
)

// A device key file (written by `sotto device init`, mode 0600) holds:
//
//	sotto device key v1
//	alg: ed25519
//	seed: <64 lowercase hex digits>
const (
	keyFileHeader = "sotto device key v1\nalg: ed25519\nseed: "
	keyFileSize   = len(keyFileHeader) + 2*ed25519.SeedSize + 1
)

// ErrKeyFile is returned for a device key file that is malformed or
// readable by group or others. Its messages name the path only.
var ErrKeyFile = errors.New("device: bad device key file")

// WriteKeyFile creates the device key file path (0600) for the Ed25519
// private key priv. It never overwrites an existing file.
func WriteKeyFile(path string, priv ed25519.PrivateKey, budget *locked.Budget) error {
	if len(priv) != ed25519.PrivateKeySize {
		return ErrKeyFormat
	}
	buf, err := budget.Alloc(keyFileSize)
	if err != nil {
		return fmt.Errorf("device: %w", err)
	}
	defer buf.Destroy()
	b := buf.Bytes()
	n := copy(b, keyFileHeader)
	n += hex.Encode(b[n:], priv[:ed25519.SeedSize])
	b[n] = '\n'
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("device: key file: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("device: key file: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("device: key file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("device: key file: %w", err)
	}
	return nil
}

// ReadKeyFile reads the device key file path and returns the 64-byte
// Ed25519 private key in a locked buffer charged to budget. It refuses a
// file that group or others may access.
func ReadKeyFile(path string, budget *locked.Budget) (*locked.Buffer, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, fmt.Errorf("device: key file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("device: key file: %w", err)
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s is accessible to group or others (mode %04o); run chmod 600 %s",
			ErrKeyFile, path, fi.Mode().Perm(), path)
	}
	buf, err := budget.Alloc(keyFileSize + 1)
	if err != nil {
		return nil, fmt.Errorf("device: %w", err)
	}
	defer buf.Destroy()
	b := buf.Bytes()
	n, err := io.ReadFull(f, b)
	if err != io.ErrUnexpectedEOF || n != keyFileSize || !bytes.HasPrefix(b, []byte(keyFileHeader)) || b[n-1] != '\n' {
		return nil, fmt.Errorf("%w: %s is not a device key file", ErrKeyFile, path)
	}
	seed, err := budget.Alloc(ed25519.SeedSize)
	if err != nil {
		return nil, fmt.Errorf("device: %w", err)
	}
	defer seed.Destroy()
	if _, err := hex.Decode(seed.Bytes(), b[len(keyFileHeader):n-1]); err != nil {
		return nil, fmt.Errorf("%w: %s is not a device key file", ErrKeyFile, path)
	}
	return expand(seed.Bytes(), budget)
}
