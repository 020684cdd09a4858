package demomodel

import (
	"fmt"
	"io"
	"os"
)

// File is the model made visible to llama.cpp under a path. Close it once
// the model is loaded: llama.cpp keeps its own mapping of the bytes.
type File struct {
	path  string
	close func() error
}

// Path is the file name to give to llama.cpp.
func (f *File) Path() string { return f.path }

// Close releases the file (and removes the temporary copy, if one was
// made). It is safe to call more than once.
func (f *File) Close() error {
	if f == nil || f.close == nil {
		return nil
	}
	c := f.close
	f.close = nil
	return c()
}

// Open makes the embedded model loadable by path. It prefers a sealed,
// read-only memfd named through /proc/self/fd (nothing is written to
// disk); where the kernel or sandbox refuses one (no memfd_create, no
// /proc), it falls back to a 0600 temporary file removed by Close.
func Open() (*File, error) {
	r, err := Reader()
	if err != nil {
		return nil, err
	}
	if f, err := openMemfd(); err == nil {
		return f, nil
	}
	return openTemp(r)
}

// openTemp writes the model to a private temporary file.
func openTemp(r io.Reader) (*File, error) {
	f, err := os.CreateTemp("", "sotto-demo-*.gguf") // mode 0600
	if err != nil {
		return nil, fmt.Errorf("demomodel: temporary copy: %w", err)
	}
	name := f.Name()
	_, err = io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(name)
		return nil, fmt.Errorf("demomodel: temporary copy: %w", err)
	}
	return &File{path: name, close: func() error { return os.Remove(name) }}, nil
}
