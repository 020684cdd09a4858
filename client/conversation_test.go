package client

import (
	"bytes"
	"testing"
	"time"

	"github.com/sottolabs/sotto/client/clienttest"
	"github.com/sottolabs/sotto/crypto"
)

// TestConversationCacheMember: every request of a Conversation carries its
// secret and ttl in the sealed inner request, as the server's parser reads
// them; another Conversation has another secret; a forgotten one, or
// none, sends no cache member.
func TestConversationCacheMember(t *testing.T) {
	s := clienttest.New(t)
	c, _ := newClient(t, s, nil)
	conv, other := NewConversation(90*time.Second+time.Millisecond), NewConversation(0)
	for _, cv := range []*Conversation{conv, conv, other, nil} {
		req := userRequest()
		req.Conversation = cv
		if _, _, err := chat(t, c, req); err != nil {
			t.Fatal(err)
		}
	}
	conv.Forget()
	req := userRequest()
	req.Conversation = conv
	if _, _, err := chat(t, c, req); err != nil {
		t.Fatal(err)
	}
	var parsed []crypto.Request
	for _, r := range s.Received() {
		p, err := crypto.ParseRequest([]byte(r.Inner), crypto.Limits{})
		if err != nil {
			t.Fatalf("inner request %s: %v", r.Inner, err)
		}
		parsed = append(parsed, p)
	}
	a, b, o := parsed[0], parsed[1], parsed[2]
	if len(a.CacheSecret) != crypto.CacheSecretSize || !bytes.Equal(a.CacheSecret, b.CacheSecret) || a.CacheTTL != 91 || b.CacheTTL != 91 {
		t.Fatalf("one conversation: secrets %x %x, ttl %d %d", a.CacheSecret, b.CacheSecret, a.CacheTTL, b.CacheTTL)
	}
	if bytes.Equal(a.CacheSecret, o.CacheSecret) || o.CacheTTL != 0 {
		t.Fatalf("another conversation: secret %x, ttl %d", o.CacheSecret, o.CacheTTL)
	}
	if parsed[3].CacheSecret != nil || parsed[4].CacheSecret != nil {
		t.Fatal("a request without a conversation, or after Forget, carried a cache member")
	}
}
