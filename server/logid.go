package server

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"sync"
)

// logIDKey keys the ids written to logs. It is random per process and
// never leaves memory: the rid travels in clear in the request header, so
// an unkeyed hash of it in a log would let anyone holding a captured
// request find its log line (and its token counts).
var logIDKey = sync.OnceValue(func() []byte {
	k := make([]byte, 32)
	_, _ = rand.Read(k) // crypto/rand.Read never fails; it crashes the process instead
	return k
})

// hashedID shortens an identifier for logs: HMAC-SHA256 under the
// process's logIDKey, 12 hex digits. Lines of one process correlate;
// nothing outside the process can link a line to a request.
func hashedID(id []byte) string {
	m := hmac.New(sha256.New, logIDKey())
	m.Write(id)
	return hex.EncodeToString(m.Sum(nil)[:6])
}
