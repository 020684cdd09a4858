package gguf

import (
	"errors"
	"fmt"
)

// Sentinel errors; every error the reader returns wraps one of them, so
// callers can tell "not a GGUF file" from "a broken one" with errors.Is.
var (
	// ErrNotGGUF: the file does not start with the GGUF magic.
	ErrNotGGUF = errors.New("gguf: not a GGUF file (bad magic)")
	// ErrVersion: a GGUF version this reader does not support.
	ErrVersion = errors.New("gguf: unsupported version")
	// ErrMalformed: the structure is invalid or truncated.
	ErrMalformed = errors.New("gguf: malformed file")
)

// FormatError describes where and why a file is malformed. It wraps
// ErrMalformed, and for a truncated file also io.ErrUnexpectedEOF.
type FormatError struct {
	Offset int64  // byte offset where the problem was found
	What   string // what was being read, e.g. `key "general.name"`
	Err    error  // the cause
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("gguf: malformed file at offset %d (%s): %v", e.Offset, e.What, e.Err)
}

// Unwrap returns both ErrMalformed and the cause.
func (e *FormatError) Unwrap() []error { return []error{ErrMalformed, e.Err} }
