package server

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"

	"github.com/sottolabs/sotto/internal/locked"
)

// logIDs shortens identifiers for logs under a per-process random key
// kept in an enclave: the rid travels in clear in the request header, so
// an unkeyed hash of it in a log would let anyone holding a captured
// request find its log line (and its token counts).
type logIDs struct {
	secret *locked.Enclave
	budget *locked.Budget
}

func newLogIDs(budget *locked.Budget) (*logIDs, error) {
	e, err := budget.NewRandomEnclave(32)
	if err != nil {
		return nil, err
	}
	return &logIDs{secret: e, budget: budget}, nil
}

// hashed is HMAC-SHA256(process key, id), 12 hex digits: lines of one
// process correlate; nothing outside the process can link a line to a
// request. "-" when the locked budget cannot open the key.
func (l *logIDs) hashed(id []byte) string {
	var sum []byte
	err := l.budget.Use(l.secret, func(secret []byte) {
		m := hmac.New(sha256.New, secret)
		m.Write(id)
		sum = m.Sum(nil)
	})
	if err != nil {
		return "-"
	}
	return hex.EncodeToString(sum[:6])
}
