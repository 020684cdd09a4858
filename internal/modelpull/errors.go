package modelpull

import (
	"errors"
	"fmt"
)

var (
	// ErrUnknown: the name is not in the catalogue.
	ErrUnknown = errors.New("modelpull: unknown model")
	// ErrUnreachable: the server could not be reached at all (offline,
	// DNS, refused, timed out before any answer). The message carries the
	// manual steps.
	ErrUnreachable = errors.New("modelpull: cannot reach the download server")
	// ErrInterrupted: the transfer stopped part-way; the partial file is
	// kept and the next pull resumes it.
	ErrInterrupted = errors.New("modelpull: download interrupted")
	// ErrChecksum: the downloaded bytes are not the pinned file; they were
	// deleted.
	ErrChecksum = errors.New("modelpull: sha256 mismatch")
	// ErrExists: a file with the final name is there but is not the pinned
	// file; it is left alone.
	ErrExists = errors.New("modelpull: a different file is in the way")
)

// StatusError is an HTTP answer other than 200 or 206.
type StatusError struct {
	Code int
	URL  string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("modelpull: %s answered HTTP %d", e.URL, e.Code)
}
