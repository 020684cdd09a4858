package client

import (
	"errors"
	"fmt"
	"time"
)

var (
	// ErrKeyConfig is returned when the client has no verified key
	// configuration it may use: the server's document failed a check of
	// keyconfig.Accept (wrapped: match keyconfig.ErrRollback and the others
	// with errors.Is), or it names no usable key of the configured suite.
	ErrKeyConfig = errors.New("client: no usable key configuration")
	// ErrInvalidRequest is returned, before anything is sent, for a Request
	// the protocol cannot carry (no message, an unknown role, invalid UTF-8,
	// a NaN parameter, or an inner request over 256 KiB). Its messages name
	// the offending field, never its content.
	ErrInvalidRequest = errors.New("client: invalid request")
	// ErrResponse is returned for an answer that is neither a problem
	// document nor an event stream, or that exceeds Config.MaxResponseBytes.
	ErrResponse = errors.New("client: unexpected response")
	// ErrState is returned when the state file (Config.StatePath) cannot be
	// read, verified or written.
	ErrState = errors.New("client: key configuration state file")
	// ErrPoWTooHard is returned when the server asks for more proof-of-work
	// bits than Config.MaxPoWBits.
	ErrPoWTooHard = errors.New("client: proof of work too hard")
)

// ProblemError is a refusal the server sent before the stream started
// (an application/problem+json document, protocol section 6). Name is the
// fragment of the problem type, one of the names in package crypto/wire
// ("key", "date", "pow", "rate-limited", "overloaded", ...), or empty when
// the server answered an error status without a problem document.
//
// Chat returns a *ProblemError when it gives up: a problem it does not
// retry, or one whose retry failed the same way. Match it with errors.As.
type ProblemError struct {
	Status     int
	Name       string
	RetryAfter time.Duration // from Retry-After; 0 when absent
	Code       string        // member code (the #request problem), if any

	keyConfig []byte    // member key_config of a #key problem (public, signed)
	challenge string    // proof-of-work challenge of a #pow problem
	date      time.Time // Date header; zero when absent or malformed
}

// Error names the status and the problem; nothing in it comes from the
// request.
func (e *ProblemError) Error() string {
	name := e.Name
	if name == "" {
		name = "no problem document"
	}
	msg := fmt.Sprintf("client: server refused the request: %d %s", e.Status, name)
	if e.Code != "" {
		msg += " (code " + e.Code + ")"
	}
	if e.RetryAfter > 0 {
		msg += fmt.Sprintf(" (retry after %s)", e.RetryAfter)
	}
	return msg
}
