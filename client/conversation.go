package client

import (
	"crypto/rand"
	"encoding/base64"
	"time"

	"github.com/sottolabs/sotto/crypto"
)

// Conversation lets the server keep a multi-turn conversation's prompt
// state between requests (protocol section 3.2.1): every request of the
// conversation carries the same random secret, sealed with the request,
// and the server reuses the longest prefix the new request shares with
// the previous one instead of reading it again. Only this device with this
// secret can reuse it, so a fresh Conversation per conversation, kept in
// memory and forgotten with the history, is all a client needs. The reply
// is the same with or without it; only the time to the first token is
// shorter.
type Conversation struct {
	secret [crypto.CacheSecretSize]byte
	// TTL asks the server to keep the state this long after each request
	// (whole seconds, at most a day; servers cap it further); zero leaves
	// it to the server.
	TTL time.Duration
}

// NewConversation returns a Conversation with a fresh random secret.
func NewConversation(ttl time.Duration) *Conversation {
	c := &Conversation{TTL: ttl}
	_, _ = rand.Read(c.secret[:]) // crypto/rand.Read never fails (Go 1.24+)
	return c
}

// Forget overwrites the secret. The server's copy of the state then
// expires unused; requests that still name c carry no cache member.
func (c *Conversation) Forget() {
	if c == nil {
		return
	}
	clear(c.secret[:])
	c.TTL = -1
}

// wireCache is the inner request's cache member.
type wireCache struct {
	Secret string `json:"secret"`
	TTL    int    `json:"ttl,omitempty"`
}

// wire returns the cache member, nil for no conversation or a forgotten
// one.
func (c *Conversation) wire() *wireCache {
	if c == nil || c.TTL < 0 {
		return nil
	}
	w := &wireCache{Secret: base64.RawURLEncoding.EncodeToString(c.secret[:])}
	if c.TTL > 0 {
		secs := int((c.TTL + time.Second - 1) / time.Second)
		w.TTL = min(secs, crypto.MaxCacheTTL)
	}
	return w
}
