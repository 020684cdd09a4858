package device

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/sottolabs/sotto/internal/locked"
	"github.com/sottolabs/sotto/internal/secretfile"
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

// WriteKeyFile creates the device key file path (0600, atomically, via
// internal/secretfile) for the Ed25519 private key priv. It never
// overwrites an existing file (the error wraps fs.ErrExist).
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
	if err := secretfile.Write(path, b, false); err != nil {
		return fmt.Errorf("device: key file: %w", err)
	}
	return nil
}

// ReadKeyFile reads the device key file path and returns the 64-byte
// Ed25519 private key in a locked buffer charged to budget. It refuses,
// with ErrKeyFile, a file that is malformed, reached through a symbolic
// link, open to group or others, or owned by another user.
func ReadKeyFile(path string, budget *locked.Budget) (*locked.Buffer, error) {
	buf, n, err := secretfile.Read(path, keyFileSize, budget)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeyFile, err)
	}
	defer buf.Destroy()
	b := buf.Bytes()
	if n != keyFileSize || !bytes.HasPrefix(b, []byte(keyFileHeader)) || b[n-1] != '\n' {
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
