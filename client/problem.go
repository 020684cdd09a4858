package client

import (
	"encoding/json"
	"fmt"
	"github.com/sottolabs/sotto/crypto/wire"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxProblemBytes bounds a problem document: the largest legitimate one
// carries a key configuration with a few X-Wing keys (about 10 KiB).
const maxProblemBytes = 256 << 10

// maxRetryAfter caps a server's Retry-After, so that a hostile value
// cannot park a client for days.
const maxRetryAfter = 10 * time.Minute

// problemDoc is the part of a problem document a client reads.
type problemDoc struct {
	Type      string          `json:"type"`
	Challenge string          `json:"challenge"`
	Code      string          `json:"code"`
	KeyConfig json.RawMessage `json:"key_config"`
}

// readProblem turns a non-200 response into a *ProblemError. It reads at
// most maxProblemBytes of the body; a body that is not a problem document
// yields a ProblemError with an empty Name.
func readProblem(resp *http.Response) *ProblemError {
	pe := &ProblemError{
		Status:     resp.StatusCode,
		RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()),
	}
	if d, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
		pe.date = d
	}
	mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || mt != wire.MediaTypeProblem {
		return pe
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxProblemBytes+1))
	if err != nil || len(data) > maxProblemBytes {
		return pe
	}
	var doc problemDoc
	if json.Unmarshal(data, &doc) != nil {
		return pe
	}
	name, ok := strings.CutPrefix(doc.Type, wire.ProblemTypeBase)
	if !ok || !knownProblem(name) {
		return pe
	}
	pe.Name = name
	pe.Code = cleanCode(doc.Code)
	pe.keyConfig = doc.KeyConfig
	pe.challenge = doc.Challenge
	if pe.challenge == "" {
		pe.challenge = resp.Header.Get(wire.HeaderPoWChallenge)
	}
	return pe
}

// cleanCode keeps a server's error code only when it looks like one
// (short, [a-z0-9_:.-]), so that error messages never carry arbitrary
// server text.
func cleanCode(code string) string {
	if len(code) > 64 {
		return ""
	}
	for _, r := range code {
		ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("_:.-", r)
		if !ok {
			return ""
		}
	}
	return code
}

// parseRetryAfter reads a Retry-After value in seconds or as an HTTP date,
// capped at maxRetryAfter; 0 when absent or malformed.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.ParseUint(v, 10, 32); err == nil {
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), maxRetryAfter)
}

// unexpected is the error for a response that is neither a problem nor a
// stream.
func unexpected(why string) error {
	return fmt.Errorf("%w: %s", ErrResponse, why)
}

func knownProblem(name string) bool {
	_, ok := wire.LookupProblem(name)
	return ok
}
