package proxy

import (
	"strings"
	"testing"
	"time"

	"github.com/sottolabs/sotto/client"
)

func msgs(contents ...string) []client.Message {
	out := make([]client.Message, len(contents))
	for i, c := range contents {
		role := client.RoleUser
		if i%2 == 1 {
			role = client.RoleAssistant
		}
		out[i] = client.Message{Role: role, Content: c}
	}
	return out
}

// clock is a settable clock for the matcher.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newMatcher(ttl time.Duration, maxBytes int) (*Conversations, *clock) {
	c := NewConversations(ttl, maxBytes)
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	c.now = clk.now
	return c, clk
}

// TestConversationsPrefix: turn 2 (the history of turn 1, its reply and a
// new message) gets turn 1's secret; another conversation, even one that
// starts with the same message list plus something else, does not.
func TestConversationsPrefix(t *testing.T) {
	c, _ := newMatcher(0, 0)
	a1, found := c.Match(msgs("hello"))
	if found {
		t.Fatal("the first request continued a conversation")
	}
	a2, found := c.Match(msgs("hello", "hi there", "tell me more"))
	if !found || *a2 != *a1 {
		t.Fatal("turn 2 did not get turn 1's secret")
	}
	a3, found := c.Match(msgs("hello", "hi there", "tell me more", "ok", "and then"))
	if !found || *a3 != *a1 {
		t.Fatal("turn 3 did not get the conversation's secret")
	}
	b, found := c.Match(msgs("good morning"))
	if found || *b == *a1 {
		t.Fatal("another conversation got the first one's secret")
	}
	// Same first message, but not a prefix of any earlier request's full
	// message list: [hello] was a request, so it matches; [hellp] does not.
	d, found := c.Match(msgs("hellp", "x", "y"))
	if found || *d == *a1 || *d == *b {
		t.Fatal("a different first message matched")
	}
	// A role change is a different message.
	e, found := c.Match([]client.Message{{Role: client.RoleSystem, Content: "hello"}, {Role: client.RoleUser, Content: "q"}})
	if found || *e == *a1 {
		t.Fatal("a system message matched a user message of the same text")
	}
	if n := c.Len(); n != 4 {
		t.Fatalf("Len = %d, want 4", n)
	}
}

// TestConversationsBranch: an edited last message (a branch from turn 1),
// and a regenerated reply (the same request again), stay in the
// conversation; both branches keep matching afterwards.
func TestConversationsBranch(t *testing.T) {
	c, _ := newMatcher(0, 0)
	a, _ := c.Match(msgs("hello"))
	left, _ := c.Match(msgs("hello", "hi", "left"))
	right, found := c.Match(msgs("hello", "hi", "right"))
	if !found || *right != *a || *left != *a {
		t.Fatal("a branch from turn 1 left the conversation")
	}
	again, found := c.Match(msgs("hello", "hi", "right"))
	if !found || *again != *a {
		t.Fatal("a regenerated request left the conversation")
	}
	l2, found := c.Match(msgs("hello", "hi", "left", "ok", "more"))
	if !found || *l2 != *a {
		t.Fatal("the left branch no longer matches after the right one")
	}
	if c.Len() != 1 {
		t.Fatalf("Len = %d, want 1", c.Len())
	}
}

// TestConversationsTTL: a conversation unused for the ttl is forgotten,
// and its continuation starts a new one with a new secret; one used
// within the ttl is kept (the ttl runs from the last use).
func TestConversationsTTL(t *testing.T) {
	c, clk := newMatcher(time.Minute, 0)
	a, _ := c.Match(msgs("hello"))
	clk.t = clk.t.Add(50 * time.Second)
	a2, found := c.Match(msgs("hello", "hi", "more"))
	if !found || *a2 != *a {
		t.Fatal("forgotten before the ttl")
	}
	clk.t = clk.t.Add(50 * time.Second) // 100 s after the first use, 50 s after the last
	if _, found := c.Match(msgs("hello", "hi", "more", "x", "y")); !found {
		t.Fatal("the ttl ran from the first use, not the last")
	}
	clk.t = clk.t.Add(time.Minute)
	b, found := c.Match(msgs("hello", "hi", "more", "x", "y", "z", "w"))
	if found || *b == *a {
		t.Fatal("a conversation unused for the ttl was still matched")
	}
	if c.Len() != 1 {
		t.Fatalf("Len = %d after expiry, want 1 (the new one)", c.Len())
	}
}

// TestConversationsMemoryBound: under the bound, the least recently used
// conversation goes first, and the memory charged never exceeds it.
func TestConversationsMemoryBound(t *testing.T) {
	bound := 3*(conversationCost+hashCost) + hashCost // three one-request conversations and one more request
	c, _ := newMatcher(0, bound)
	first, _ := c.Match(msgs("one"))
	c.Match(msgs("two"))
	c.Match(msgs("one", "r", "again")) // "one" is now more recently used than "two"
	c.Match(msgs("three"))
	if c.Len() != 3 || c.used != bound {
		t.Fatalf("%d conversations in %d bytes before the bound is reached", c.Len(), c.used)
	}
	c.Match(msgs("four"))
	if c.Len() != 3 || c.used > bound {
		t.Fatalf("%d conversations in %d bytes, bound %d", c.Len(), c.used, bound)
	}
	if s, found := c.Match(msgs("one", "r", "again", "r", "x")); !found || *s != *first {
		t.Fatal("a recently used conversation was evicted")
	}
	if _, found := c.Match(msgs("two", "r", "x")); found {
		t.Fatal("the least recently used conversation was kept over the bound")
	}
	// One conversation with more requests than fit keeps its latest.
	c2, _ := newMatcher(0, conversationCost+3*hashCost)
	hist := []string{"a"}
	s0, _ := c2.Match(msgs(hist...))
	for i := range 10 {
		hist = append(hist, "r", strings.Repeat("q", i+1))
		c2.Match(msgs(hist...))
	}
	if c2.used > conversationCost+3*hashCost {
		t.Fatalf("%d bytes used over the bound", c2.used)
	}
	latest, found := c2.Match(msgs(append(hist, "r", "next")...))
	if !found || *latest != *s0 {
		t.Fatal("the conversation lost its latest request under the bound")
	}
}

// TestConversationsKeyedPerProcess: the digests are keyed: another
// matcher (another process) hashes the same messages differently, so a
// digest seen elsewhere reveals nothing about the messages.
func TestConversationsKeyedPerProcess(t *testing.T) {
	m := msgs("the same message")
	a, b := NewConversations(0, 0), NewConversations(0, 0)
	if a.prefixDigests(m)[0] == b.prefixDigests(m)[0] {
		t.Fatal("two matchers hash the same message to the same digest")
	}
	if first, again := a.prefixDigests(m)[0], a.prefixDigests(m)[0]; first != again {
		t.Fatal("one matcher hashes the same message differently")
	}
}
