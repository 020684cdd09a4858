package device

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ErrNotListed is returned by Revoke for a key the allow-list does not
// hold.
var ErrNotListed = errors.New("device: key not in the allow-list")

// Revoke removes every line listing key from the allow-list file at path,
// keeping comments, other keys and the file's mode. The file is replaced
// atomically (a temporary file renamed over it), so a server re-reading
// it sees the old or the new list, never half of one. It refuses a file
// that does not parse, and fails with ErrNotListed when key is absent.
func Revoke(path string, key Key) error {
	if key.alg == 0 {
		return ErrKeyFormat
	}
	keys, err := readAllowList(path)
	if err != nil {
		return err
	}
	if _, ok := keys[key]; !ok {
		return ErrNotListed
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("device: allow-list: %w", err)
	}
	var out bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Bytes()
		entry, _, _ := bytes.Cut(line, []byte("#"))
		if k, err := ParseKey(string(bytes.TrimSpace(entry))); err == nil && k == key {
			continue
		}
		out.Write(line)
		out.WriteByte('\n')
	}
	return replaceFile(path, out.Bytes())
}

// replaceFile writes data to a temporary file beside path with path's
// mode and renames it over path.
func replaceFile(path string, data []byte) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("device: allow-list: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".allow-list-*")
	if err != nil {
		return fmt.Errorf("device: allow-list: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename: no such file
	err = tmp.Chmod(fi.Mode().Perm())
	if err == nil {
		_, err = tmp.Write(data)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("device: allow-list: %w", err)
	}
	return nil
}
