package device

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
)

// AllowList is a Policy trusting the keys listed in a file: one
// Sotto-Device value per line ("ed25519:..." or "p256:..."); blank lines
// and everything after a '#' are ignored. It is safe for concurrent use;
// Reload re-reads the file (the server calls it on SIGHUP).
type AllowList struct {
	path string
	mu   sync.RWMutex
	keys map[Key]struct{}
}

var _ Policy = (*AllowList)(nil)

// LoadAllowList reads the allow-list file at path.
func LoadAllowList(path string) (*AllowList, error) {
	a := &AllowList{path: path}
	if err := a.Reload(); err != nil {
		return nil, err
	}
	return a, nil
}

// Reload re-reads the file. On error the previous list stays in use.
func (a *AllowList) Reload() error {
	keys, err := readAllowList(a.path)
	if err != nil {
		return err
	}
	a.mu.Lock()
	a.keys = keys
	a.mu.Unlock()
	return nil
}

// Len returns the number of listed keys.
func (a *AllowList) Len() int {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return len(a.keys)
}

// Trusted returns nil for a listed key and ErrUntrusted otherwise.
func (a *AllowList) Trusted(_ context.Context, key Key) error {
	a.mu.RLock()
	_, ok := a.keys[key]
	a.mu.RUnlock()
	if !ok {
		return ErrUntrusted
	}
	return nil
}

// readAllowList parses the file; errors name the line, never its content.
func readAllowList(path string) (map[Key]struct{}, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("device: allow-list: %w", err)
	}
	keys := map[Key]struct{}{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := sc.Bytes()
		if i := bytes.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		k, err := ParseKey(string(line))
		if err != nil {
			return nil, fmt.Errorf("%w (allow-list %s, line %d)", err, path, n)
		}
		keys[k] = struct{}{}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("device: allow-list %s: %w", path, err)
	}
	return keys, nil
}

// ErrListed is returned by Allow for a key already in the allow-list.
var ErrListed = errors.New("device: key already in the allow-list")

// Allow appends key to the allow-list file at path, creating it (0600)
// when missing. It fails with ErrListed when the key is already listed,
// and refuses to touch a file that does not parse.
func Allow(path string, key Key) error {
	if key.alg == 0 {
		return ErrKeyFormat
	}
	keys, err := readAllowList(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return err
	default:
		if _, ok := keys[key]; ok {
			return ErrListed
		}
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("device: allow-list: %w", err)
	}
	if err := appendLine(f, key.String()); err != nil {
		f.Close()
		return fmt.Errorf("device: allow-list: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("device: allow-list: %w", err)
	}
	return nil
}

// appendLine writes line, first ending an unterminated last line.
func appendLine(f *os.File, line string) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.Size() > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, fi.Size()-1); err == nil && last[0] != '\n' {
			line = "\n" + line
		}
	}
	_, err = f.WriteString(line + "\n")
	return err
}
