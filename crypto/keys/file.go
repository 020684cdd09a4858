package keys

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	"github.com/sottolabs/sotto/crypto"
	"github.com/sottolabs/sotto/crypto/keyconfig"
	"github.com/sottolabs/sotto/internal/locked"
)

// The key directory's file names (docs/keys.md). Other names are ignored.
const (
	signingFileName = "signing.key"
	hpkePattern     = "hpke-[0-9][0-9][0-9].key"
)

// The first line of each kind of key file.
const (
	hpkeMagic    = "sotto hpke key v1"
	signingMagic = "sotto signing key v1"
)

// seedSize is the size of every seed: HPKE private keys and the Ed25519
// signing key alike.
const seedSize = crypto.SeedSize

// maxFileSize bounds a key file; real ones are under 300 bytes.
const maxFileSize = 1024

func hpkeFileName(id uint8) string { return fmt.Sprintf("hpke-%03d.key", id) }

// keyFile is the content of an HPKE key file. seed is owned by the keyFile
// until moved into a Key.
type keyFile struct {
	id        uint8
	suite     crypto.Suite
	notBefore time.Time
	notAfter  time.Time
	seed      *locked.Buffer
}

// header returns the file's lines before the seed; nothing in it is secret.
func (f *keyFile) header() string {
	return fmt.Sprintf("%s\nkey_id: %d\nkem_id: %d\nkdf_id: %d\naead_id: %d\nnot_before: %s\nnot_after: %s\n",
		hpkeMagic, f.id, f.suite.KEM, f.suite.KDF, f.suite.AEAD,
		keyconfig.FormatTime(f.notBefore), keyconfig.FormatTime(f.notAfter))
}

// encodeKeyFile returns the file's bytes in locked memory; the caller
// destroys the buffer.
func encodeKeyFile(header string, seed []byte, budget *locked.Budget) (*locked.Buffer, error) {
	const prefix = "seed: "
	buf, err := budget.Alloc(len(header) + len(prefix) + 2*len(seed) + 1)
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	b := buf.Bytes()
	n := copy(b, header)
	n += copy(b[n:], prefix)
	n += hex.Encode(b[n:], seed)
	b[n] = '\n'
	return buf, nil
}

// lines splits a file read into locked memory into its lines; the last
// line must end in "\n".
type lines struct {
	rest []byte
	path string
}

// field returns the value of the next line, which must be "name: value".
func (l *lines) field(name string) ([]byte, error) {
	line, rest, ok := bytes.Cut(l.rest, []byte{'\n'})
	v, found := bytes.CutPrefix(line, []byte(name+": "))
	if !ok || !found || len(v) == 0 {
		return nil, fmt.Errorf("%w: %s: expected member %s", ErrFormat, l.path, name)
	}
	l.rest = rest
	return v, nil
}

func (l *lines) magic(want string) error {
	line, rest, ok := bytes.Cut(l.rest, []byte{'\n'})
	if !ok || string(line) != want {
		return fmt.Errorf("%w: %s: not a %q file", ErrFormat, l.path, want)
	}
	l.rest = rest
	return nil
}

func (l *lines) end() error {
	if len(l.rest) != 0 {
		return fmt.Errorf("%w: %s: trailing data", ErrFormat, l.path)
	}
	return nil
}

func (l *lines) uint(name string, bits int) (uint64, error) {
	v, err := l.field(name)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseUint(string(v), 10, bits)
	if err != nil || (len(v) > 1 && v[0] == '0') {
		return 0, fmt.Errorf("%w: %s: bad %s", ErrFormat, l.path, name)
	}
	return n, nil
}

func (l *lines) time(name string) (time.Time, error) {
	v, err := l.field(name)
	if err != nil {
		return time.Time{}, err
	}
	t, err := keyconfig.ParseTime(string(v))
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %s: bad %s", ErrFormat, l.path, name)
	}
	return t, nil
}

// seed decodes the hex seed line into a new locked buffer.
func (l *lines) seed(budget *locked.Budget) (*locked.Buffer, error) {
	v, err := l.field("seed")
	if err != nil {
		return nil, err
	}
	if len(v) != 2*seedSize {
		return nil, fmt.Errorf("%w: %s: seed must be %d hex digits", ErrFormat, l.path, 2*seedSize)
	}
	seed, err := budget.Alloc(seedSize)
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	if _, err := hex.Decode(seed.Bytes(), v); err != nil {
		seed.Destroy()
		return nil, fmt.Errorf("%w: %s: seed is not hex", ErrFormat, l.path)
	}
	return seed, nil
}

// parseKeyFile parses an HPKE key file held in b (locked memory).
func parseKeyFile(path string, b []byte, budget *locked.Budget) (*keyFile, error) {
	l := &lines{rest: b, path: path}
	if err := l.magic(hpkeMagic); err != nil {
		return nil, err
	}
	var f keyFile
	id, err := l.uint("key_id", 8)
	if err != nil {
		return nil, err
	}
	f.id = uint8(id)
	var ids [3]uint64
	for i, name := range []string{"kem_id", "kdf_id", "aead_id"} {
		if ids[i], err = l.uint(name, 16); err != nil {
			return nil, err
		}
	}
	f.suite = crypto.Suite{KEM: crypto.KEM(ids[0]), KDF: crypto.KDF(ids[1]), AEAD: crypto.AEAD(ids[2])}
	if f.notBefore, err = l.time("not_before"); err != nil {
		return nil, err
	}
	if f.notAfter, err = l.time("not_after"); err != nil {
		return nil, err
	}
	if f.seed, err = l.seed(budget); err != nil {
		return nil, err
	}
	if err := f.check(path, l); err != nil {
		f.seed.Destroy()
		return nil, err
	}
	return &f, nil
}

func (f *keyFile) check(path string, l *lines) error {
	if err := l.end(); err != nil {
		return err
	}
	if filepath.Base(path) != hpkeFileName(f.id) {
		return fmt.Errorf("%w: %s: key_id does not match the file name", ErrFormat, path)
	}
	if !f.suite.Supported() {
		return fmt.Errorf("%w: %s: unsupported suite", ErrFormat, path)
	}
	if !f.notBefore.Before(f.notAfter) {
		return fmt.Errorf("%w: %s: not_before must precede not_after", ErrFormat, path)
	}
	return nil
}

// parseSigningFile parses the signing key file held in b and returns the
// Ed25519 seed in locked memory.
func parseSigningFile(path string, b []byte, budget *locked.Budget) (*locked.Buffer, error) {
	l := &lines{rest: b, path: path}
	if err := l.magic(signingMagic); err != nil {
		return nil, err
	}
	alg, err := l.field("alg")
	if err != nil {
		return nil, err
	}
	if string(alg) != keyconfig.Alg {
		return nil, fmt.Errorf("%w: %s: alg must be %s", ErrFormat, path, keyconfig.Alg)
	}
	seed, err := l.seed(budget)
	if err != nil {
		return nil, err
	}
	if err := l.end(); err != nil {
		seed.Destroy()
		return nil, err
	}
	return seed, nil
}

func signingHeader() string {
	return signingMagic + "\nalg: " + keyconfig.Alg + "\n"
}
