package proxy

import (
	"container/list"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"sync"
	"time"

	"github.com/sottolabs/sotto/client"
)

// Defaults of the conversation matcher.
const (
	DefaultConversationTTL    = 10 * time.Minute
	DefaultConversationMemory = 4 << 20
)

// Memory charged per conversation and per request hash it is known by:
// the hash itself, the map entry and list bookkeeping, rounded up.
const (
	conversationCost = 256
	hashCost         = 96
)

// digest is the keyed hash of a message list (a prefix of a request).
type digest [sha256.Size]byte

// conversation is what the proxy keeps of one conversation: its cache
// secret (protocol 3.2.1) and the digests of the requests it was sent
// with. No message text.
type conversation struct {
	secret  *client.Conversation
	digests []digest
	used    time.Time
	elem    *list.Element
}

// Conversations recognises the conversations tools resend whole each
// turn. A request continues the conversation of the longest earlier
// request whose messages are a prefix of its own (or equal to them:
// regenerating a reply), and gets that conversation's cache secret; any
// other request starts a conversation with a fresh secret. It keeps
// HMAC-SHA256 digests of message prefixes under a key drawn per process,
// never the messages, and only in memory: a conversation unused for ttl is
// forgotten, and when the memory bound is reached the least recently used
// ones go first. A Conversations is safe for concurrent use.
type Conversations struct {
	mu       sync.Mutex
	key      [32]byte
	ttl      time.Duration
	maxBytes int
	used     int
	now      func() time.Time
	byDigest map[digest]*conversation
	lru      *list.List // of *conversation, most recently used first
}

// NewConversations returns an empty matcher; ttl and maxBytes <= 0 take
// the defaults.
func NewConversations(ttl time.Duration, maxBytes int) *Conversations {
	if ttl <= 0 {
		ttl = DefaultConversationTTL
	}
	if maxBytes <= 0 {
		maxBytes = DefaultConversationMemory
	}
	c := &Conversations{ttl: ttl, maxBytes: maxBytes, now: time.Now,
		byDigest: map[digest]*conversation{}, lru: list.New()}
	_, _ = rand.Read(c.key[:]) // crypto/rand.Read never fails (Go 1.24+)
	return c
}

// prefixDigests returns, for each i, the digest of msgs[:i+1]: a chain of
// HMACs, each over the previous digest and one length-prefixed message.
func (c *Conversations) prefixDigests(msgs []client.Message) []digest {
	out := make([]digest, len(msgs))
	var prev digest
	var n [8]byte
	for i, m := range msgs {
		h := hmac.New(sha256.New, c.key[:])
		h.Write(prev[:])
		binary.BigEndian.PutUint64(n[:], uint64(len(m.Role)))
		h.Write(n[:])
		h.Write([]byte(m.Role))
		binary.BigEndian.PutUint64(n[:], uint64(len(m.Content)))
		h.Write(n[:])
		h.Write([]byte(m.Content))
		h.Sum(out[i][:0])
		prev = out[i]
	}
	return out
}

// Match returns the conversation msgs belongs to, as a copy of its cache
// secret that the caller owns (and may Forget after the request), and
// whether it continues an earlier request.
func (c *Conversations) Match(msgs []client.Message) (*client.Conversation, bool) {
	ds := c.prefixDigests(msgs)
	if len(ds) == 0 {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	c.expire(now)
	var conv *conversation
	for i := len(ds) - 1; i >= 0 && conv == nil; i-- {
		conv = c.byDigest[ds[i]]
	}
	found := conv != nil
	if !found {
		conv = &conversation{secret: client.NewConversation(c.ttl)}
		conv.elem = c.lru.PushFront(conv)
		c.used += conversationCost
	}
	last := ds[len(ds)-1]
	if _, ok := c.byDigest[last]; !ok {
		c.byDigest[last] = conv
		conv.digests = append(conv.digests, last)
		c.used += hashCost
	}
	conv.used = now
	c.lru.MoveToFront(conv.elem)
	secret := *conv.secret
	c.shrink(conv)
	return &secret, found
}

// expire forgets the conversations unused for ttl (the back of the list).
func (c *Conversations) expire(now time.Time) {
	for e := c.lru.Back(); e != nil; e = c.lru.Back() {
		conv := e.Value.(*conversation)
		if now.Sub(conv.used) < c.ttl {
			return
		}
		c.remove(conv)
	}
}

// shrink forgets least recently used conversations until the memory bound
// holds; keep, the one being used, goes last, and then loses its oldest
// digests first.
func (c *Conversations) shrink(keep *conversation) {
	for c.used > c.maxBytes {
		back := c.lru.Back().Value.(*conversation)
		if back != keep {
			c.remove(back)
			continue
		}
		if len(keep.digests) <= 1 {
			return // one conversation with one digest always fits
		}
		delete(c.byDigest, keep.digests[0])
		keep.digests = keep.digests[1:]
		c.used -= hashCost
	}
}

func (c *Conversations) remove(conv *conversation) {
	for _, d := range conv.digests {
		delete(c.byDigest, d)
	}
	c.used -= conversationCost + hashCost*len(conv.digests)
	c.lru.Remove(conv.elem)
	conv.secret.Forget()
}

// Len returns the number of conversations held.
func (c *Conversations) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}
