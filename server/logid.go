package server

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
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
	sum, err := l.sum(id)
	if err != nil {
		return "-"
	}
	return hex.EncodeToString(sum[:6])
}

// sum is HMAC-SHA256(process key, parts...).
func (l *logIDs) sum(parts ...[]byte) ([]byte, error) {
	var sum []byte
	err := l.budget.Use(l.secret, func(secret []byte) {
		m := hmac.New(sha256.New, secret)
		for _, p := range parts {
			m.Write(p)
		}
		sum = m.Sum(nil)
	})
	return sum, err
}

// prefixOwner names a device for the engine's prefix-cache shares: 64
// bits of HMAC(process key, label || alg || 0x00 || device key), so the
// engine never holds the device key and nothing outside the process can
// link an owner to a device.
func (l *logIDs) prefixOwner(alg string, key []byte) (uint64, error) {
	sum, err := l.sum([]byte("sotto prefix owner\x00"+alg+"\x00"), key)
	if err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint64(sum), nil
}
