// Package demomodel embeds the model `sotto serve` uses when none is
// configured: Karpathy's llama2.c stories260K (292,800 parameters trained
// on TinyStories, MIT licence, see third_party/README.md), converted to
// GGUF by ggml-org. It writes short English children's stories and
// nothing else; it is there so that a fresh checkout shows real text, and
// so that tests which need a trained model run wherever the repository
// does.
//
// The file has no chat template; Template turns a conversation into a
// story prompt. Open hands llama.cpp the bytes without writing them to
// disk (a sealed memfd where the kernel has one). The package has no cgo.
package demomodel

import (
	"bytes"
	"crypto/sha256"
	_ "embed" // the model file
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Facts about the embedded file.
const (
	// Name is the file's name (and its name in ../shared/models).
	Name = "stories260K.gguf"
	// SHA256 is the pinned hash, the value SOURCES.md and other projects
	// pin for ggml-org/models tinyllamas/stories260K.gguf.
	SHA256 = "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d"
	// Size is the file's length in bytes.
	Size = 1185376
)

// Notice is what the server says, once, when it serves the demo model.
const Notice = "NO MODEL CONFIGURED: serving the embedded DEMO model stories260K " +
	"(260K parameters, trained on children's stories): it tells short stories and " +
	"cannot follow instructions. For a real model: sotto model pull (or make model) " +
	"puts one in ./models, which sotto serve then picks in development (or --model FILE.gguf)"

//go:embed stories260K.gguf
var weights []byte

// ErrCorrupt: the embedded bytes are not the pinned file (a broken build).
var ErrCorrupt = errors.New("demomodel: embedded model does not match its pinned sha256")

// Reader returns a reader of the model file, after checking its hash.
func Reader() (io.Reader, error) {
	if err := verify(); err != nil {
		return nil, err
	}
	return bytes.NewReader(weights), nil
}

func verify() error {
	sum := sha256.Sum256(weights)
	if len(weights) != Size || hex.EncodeToString(sum[:]) != SHA256 {
		return ErrCorrupt
	}
	return nil
}

// WriteFile writes the model into dir as Name (0644: it is public data)
// and returns its path. Tests use it to hand the model to a child process.
func WriteFile(dir string) (string, error) {
	r, err := Reader()
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, Name)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return "", fmt.Errorf("demomodel: %w", err)
	}
	_, err = io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("demomodel: %w", err)
	}
	return path, nil
}
