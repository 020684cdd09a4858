package keys

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/sottolabs/sotto/internal/locked"
)

// directory is the loaded content of a key directory: every HPKE key file
// (sorted by key_id) and the signing key, all seeds in locked memory.
type directory struct {
	files   []*keyFile
	signing *locked.Buffer // ed25519.PrivateKey (seed || public key)
}

func (d *directory) destroy() {
	for _, f := range d.files {
		f.seed.Destroy()
	}
	d.signing.Destroy()
}

// loadDir reads and checks every key file of dir.
func loadDir(dir string, budget *locked.Budget) (_ *directory, err error) {
	if err := checkDir(dir); err != nil {
		return nil, err
	}
	d := &directory{}
	defer func() {
		if err != nil {
			d.destroy()
		}
	}()
	names, err := hpkeFileNames(dir)
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		f, err := readKeyFile(filepath.Join(dir, name), budget)
		if err != nil {
			return nil, err
		}
		d.files = append(d.files, f)
	}
	if d.signing, err = readSigningKey(filepath.Join(dir, signingFileName), budget); err != nil {
		return nil, err
	}
	return d, nil
}

// hpkeFileNames lists dir's HPKE key files in key_id order.
func hpkeFileNames(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("keys: key directory: %w", err)
	}
	var names []string
	for _, e := range entries {
		if ok, _ := filepath.Match(hpkePattern, e.Name()); ok {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

func readKeyFile(path string, budget *locked.Budget) (*keyFile, error) {
	buf, n, err := readSecret(path, budget)
	if err != nil {
		return nil, err
	}
	defer buf.Destroy()
	return parseKeyFile(path, buf.Bytes()[:n], budget)
}

// readSigningKey loads the signing key and expands it to an Ed25519
// private key in locked memory.
func readSigningKey(path string, budget *locked.Budget) (*locked.Buffer, error) {
	buf, n, err := readSecret(path, budget)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s is missing", ErrNoKeys, path)
	}
	if err != nil {
		return nil, err
	}
	defer buf.Destroy()
	seed, err := parseSigningFile(path, buf.Bytes()[:n], budget)
	if err != nil {
		return nil, err
	}
	defer seed.Destroy()
	return expandSigningKey(seed.Bytes(), budget)
}

// expandSigningKey returns ed25519.NewKeyFromSeed(seed) in locked memory.
func expandSigningKey(seed []byte, budget *locked.Budget) (*locked.Buffer, error) {
	priv, err := budget.Alloc(ed25519.PrivateKeySize)
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	heap := ed25519.NewKeyFromSeed(seed)
	copy(priv.Bytes(), heap)
	locked.Wipe(heap)
	return priv, nil
}

// writeKeyFile writes f to dir as hpke-NNN.key (0600).
func writeKeyFile(dir string, f *keyFile, budget *locked.Budget) error {
	buf, err := encodeKeyFile(f.header(), f.seed.Bytes(), budget)
	if err != nil {
		return err
	}
	defer buf.Destroy()
	return writeSecret(dir, hpkeFileName(f.id), buf.Bytes())
}

// writeSigningKey writes the Ed25519 seed to dir as signing.key (0600).
func writeSigningKey(dir string, seed []byte, budget *locked.Budget) error {
	buf, err := encodeKeyFile(signingHeader(), seed, budget)
	if err != nil {
		return err
	}
	defer buf.Destroy()
	return writeSecret(dir, signingFileName, buf.Bytes())
}

// dirStamp summarizes the names, sizes, modes and modification times of
// dir's entries, so that Watch reloads only when something changed.
func dirStamp(dir string) (string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	var b []byte
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			return "", err
		}
		b = fmt.Appendf(b, "%s/%d/%o/%d;", e.Name(), fi.Size(), fi.Mode(), fi.ModTime().UnixNano())
	}
	return string(b), nil
}
