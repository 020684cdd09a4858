// Package keyconfig implements the signed key configuration document of the
// Sotto protocol (docs/protocol.md section 2, served at GET /api/pubkey):
// its JSON form, its signed bytes (tbs), Ed25519 signing and verification
// against a pinned signing key, and the rules a client applies before it
// replaces the document it holds (Accept).
//
// Times in the document are spelled exactly YYYY-MM-DDTHH:MM:SSZ; any other
// spelling is refused, so the JSON a client reads and the Unix seconds the
// signature covers cannot disagree.
//
// A Document is a plain value: it is not safe for concurrent mutation, but
// any number of goroutines may read it.
package keyconfig

import (
	"errors"
)

// Errors returned by Parse, Verify and Accept. Accept wraps them with %w;
// match them with errors.Is. None of them carries document content.
var (
	// ErrMalformed is returned for JSON that is not a key configuration
	// document (missing or invalid member, unknown state, bad base64url).
	ErrMalformed = errors.New("keyconfig: malformed document")
	// ErrTimeFormat is returned for a time not spelled YYYY-MM-DDTHH:MM:SSZ.
	ErrTimeFormat = errors.New("keyconfig: time not in YYYY-MM-DDTHH:MM:SSZ form")
	// ErrUnpinned is returned when the document names a signing key other
	// than the pinned one, or an algorithm other than ed25519.
	ErrUnpinned = errors.New("keyconfig: document not signed by the pinned key")
	// ErrSignature is returned when the signature does not verify.
	ErrSignature = errors.New("keyconfig: bad signature")
	// ErrExpired is returned for a document at or past its expires time.
	ErrExpired = errors.New("keyconfig: document expired")
	// ErrFuture is returned for an issued_at more than MaxClockSkew ahead.
	ErrFuture = errors.New("keyconfig: document issued in the future")
	// ErrRollback is returned for a document older than the one held.
	ErrRollback = errors.New("keyconfig: document older than the held one")
	// ErrConflict is returned for a document with the held document's
	// issued_at but different signed content.
	ErrConflict = errors.New("keyconfig: different document with the same issued_at")
)
