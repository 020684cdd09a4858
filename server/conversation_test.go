//go:build cgo

// These tests drive the real llama.cpp engine (cgo).

package server_test

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/sottolabs/sotto/crypto"
)

// Private multi-turn (issue 11): requests carrying a cache secret reuse
// their conversation's KV prefix on the real engine (stories260K), only
// for the same device and secret, with byte-identical greedy output.

const convMaxTokens = 16

type convMsg struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// convJSON is a greedy inner request; secret "" leaves the cache out.
func convJSON(msgs []convMsg, secret string) []byte {
	req := map[string]any{"messages": msgs, "max_tokens": convMaxTokens, "temperature": 0}
	if secret != "" {
		req["cache"] = map[string]any{"secret": secret, "ttl": 600}
	}
	b, err := json.Marshal(req)
	if err != nil {
		panic(err)
	}
	return b
}

func newSecret() string {
	var b [crypto.CacheSecretSize]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// turn sends msgs and returns the reply and how many prompt tokens the
// engine took from the cache and prefilled for it.
func (c *client) turn(t *testing.T, msgs []convMsg, secret string) (r *result, cached, prefilled uint64) {
	t.Helper()
	before := c.h.engine.Stats()
	r = c.send(c.seal(convJSON(msgs, secret)))
	if r.status != http.StatusOK || r.streamErr != nil || r.final.Reason == crypto.FinishError {
		t.Fatalf("status %d %s (%s), stream %v, final %+v", r.status, r.prob.Type, r.prob.Code, r.streamErr, r.final)
	}
	after := c.h.engine.Stats()
	return r, after.PromptTokensCached - before.PromptTokensCached, after.PromptTokensPrefilled - before.PromptTokensPrefilled
}

// secondTurn is the conversation after first's reply and a new message.
func secondTurn(first []convMsg, reply string) []convMsg {
	return append(first[:len(first):len(first)], convMsg{"assistant", reply}, convMsg{"user", "Then the dog ran home " + canary})
}

// TestConversationCacheHit: turn 2 of a conversation reuses turn 1's
// prompt from the cache (counted in the engine's stats and in /metrics),
// prefills only the rest, and streams exactly what the same request
// without the cache streams; turn 1 is unchanged by the cache too.
func TestConversationCacheHit(t *testing.T) {
	h := newHarness(t, config{prefixCacheBytes: 16 << 20})
	c := h.client(h.devices[0], crypto.SuiteX25519)
	secret := newSecret()
	first := []convMsg{{"user", prompt(0)}}
	r1, cached1, _ := c.turn(t, first, secret)
	h.wantReply(t, r1, prompt(0), convMaxTokens)
	if cached1 != 0 {
		t.Fatalf("turn 1 took %d tokens from an empty cache", cached1)
	}
	second := secondTurn(first, r1.text)
	ref, refCached, _ := c.turn(t, second, "")
	if refCached != 0 {
		t.Fatalf("a request without a secret took %d cached tokens", refCached)
	}
	r2, cached, prefilled := c.turn(t, second, secret)
	if r2.text != ref.text || r2.final != ref.final {
		t.Fatalf("turn 2 with the cache %q %+v, without %q %+v", r2.text, r2.final, ref.text, ref.final)
	}
	if cached < uint64(r1.final.PromptTokens)-1 || cached+prefilled != uint64(r2.final.PromptTokens) {
		t.Fatalf("turn 2: %d tokens cached, %d prefilled, prompt %d tokens, turn 1's prompt %d",
			cached, prefilled, r2.final.PromptTokens, r1.final.PromptTokens)
	}
	t.Logf("turn 2: %d of %d prompt tokens from the cache", cached, r2.final.PromptTokens)
	_, series := h.scrape(t)
	st := h.engine.Stats()
	if series["sotto_prompt_tokens_cached_total"] != float64(st.PromptTokensCached) ||
		series["sotto_prompt_tokens_prefilled_total"] != float64(st.PromptTokensPrefilled) {
		t.Fatalf("metrics cached %v prefilled %v, engine %d %d", series["sotto_prompt_tokens_cached_total"],
			series["sotto_prompt_tokens_prefilled_total"], st.PromptTokensCached, st.PromptTokensPrefilled)
	}
	// Turn 3 continues from turn 2's stored prompt.
	_, cached3, _ := c.turn(t, secondTurn(second, r2.text), secret)
	if cached3 < uint64(r2.final.PromptTokens)-1 {
		t.Fatalf("turn 3: %d tokens cached, turn 2's prompt %d", cached3, r2.final.PromptTokens)
	}
}

// TestConversationCacheIsolation: the same secret from another device,
// and another secret from the same device, miss (same output, nothing
// cached); the owner's next turn still hits.
func TestConversationCacheIsolation(t *testing.T) {
	h := newHarness(t, config{prefixCacheBytes: 16 << 20, devices: 2})
	owner := h.client(h.devices[0], crypto.SuiteX25519)
	other := h.client(h.devices[1], crypto.SuiteX25519)
	secret := newSecret()
	first := []convMsg{{"user", prompt(1)}}
	r1, _, _ := owner.turn(t, first, secret)
	second := secondTurn(first, r1.text)
	ref, _, _ := owner.turn(t, second, "")
	for name, try := range map[string]func() (*result, uint64, uint64){
		"another device, same secret": func() (*result, uint64, uint64) { return other.turn(t, second, secret) },
		"same device, another secret": func() (*result, uint64, uint64) { return owner.turn(t, second, newSecret()) },
	} {
		r, cached, prefilled := try()
		if cached != 0 || prefilled != uint64(r.final.PromptTokens) || r.text != ref.text {
			t.Errorf("%s: %d cached, %d prefilled of %d, reply %q want %q", name, cached, prefilled, r.final.PromptTokens, r.text, ref.text)
		}
	}
	r2, cached, _ := owner.turn(t, second, secret)
	if cached == 0 || r2.text != ref.text {
		t.Fatalf("the owner's turn 2 after the misses: %d cached, reply %q want %q", cached, r2.text, ref.text)
	}
}

// TestConversationCacheOff: with the cache off a request's cache member
// is valid and changes nothing.
func TestConversationCacheOff(t *testing.T) {
	h := newHarness(t, config{})
	c := h.client(h.devices[0], crypto.SuiteX25519)
	secret := newSecret()
	first := []convMsg{{"user", prompt(2)}}
	r1, _, _ := c.turn(t, first, secret)
	h.wantReply(t, r1, prompt(2), convMaxTokens)
	_, cached, _ := c.turn(t, secondTurn(first, r1.text), secret)
	if cached != 0 {
		t.Fatalf("%d tokens cached with the cache off", cached)
	}
}

// TestConversationCacheCap: the locked memory the cache holds at rest
// stays within SOTTO_PREFIX_CACHE_BYTES; a device share that fits one
// conversation evicts the device's least recently stored one for the next.
func TestConversationCacheCap(t *testing.T) {
	first := []convMsg{{"user", prompt(3)}}
	// One conversation's entry, measured on an uncapped cache.
	h := newHarness(t, config{prefixCacheBytes: 16 << 20})
	c := h.client(h.devices[0], crypto.SuiteX25519)
	base := h.budget.InUse()
	c.turn(t, first, newSecret())
	entry := settle(t, h, base)
	if entry <= 0 {
		t.Fatalf("a stored conversation holds %d locked bytes", entry)
	}
	// Each of the engine's 8 device shares fits one conversation.
	limit := 8 * (entry + entry/2)
	h = newHarness(t, config{prefixCacheBytes: limit})
	c = h.client(h.devices[0], crypto.SuiteX25519)
	base = h.budget.InUse()
	a, b := newSecret(), newSecret()
	ra, _, _ := c.turn(t, first, a)
	if held := settle(t, h, base); held != entry {
		t.Fatalf("conversation a holds %d bytes, want %d", held, entry)
	}
	rb, _, _ := c.turn(t, first, b)
	if held := settle(t, h, base); held != entry || held > limit {
		t.Fatalf("after conversation b the cache holds %d bytes (cap %d, one entry %d)", held, limit, entry)
	}
	if _, cached, _ := c.turn(t, secondTurn(first, rb.text), b); cached == 0 {
		t.Fatal("conversation b, the most recent, missed")
	}
	if _, cached, _ := c.turn(t, secondTurn(first, ra.text), a); cached != 0 {
		t.Fatalf("conversation a hit (%d tokens) after b evicted it", cached)
	}
	if held := settle(t, h, base); held > limit {
		t.Fatalf("the cache holds %d bytes, cap %d", held, limit)
	}
}

// settle waits until the last request's own locked buffers (body, stream
// buffers: over 128 KiB) are released and returns the locked bytes held
// beyond base: the prefix cache's.
func settle(t *testing.T, h *harness, base int64) int64 {
	t.Helper()
	waitFor(t, "the request's locked buffers to be released", 10*time.Second, func() bool {
		return h.engine.Stats().BusySlots == 0 && h.budget.InUse()-base < 64<<10
	})
	return h.budget.InUse() - base
}

// TestConversationCacheTTLCapped: a client's ttl (600 s here) is capped by
// the server's (1 s): once it passes, the engine wipes and frees the entry
// on its own (the locked bytes return to the baseline) and the next turn
// misses.
func TestConversationCacheTTLCapped(t *testing.T) {
	h := newHarness(t, config{prefixCacheBytes: 16 << 20, prefixMaxTTL: time.Second})
	c := h.client(h.devices[0], crypto.SuiteX25519)
	base := h.budget.InUse()
	secret := newSecret()
	first := []convMsg{{"user", prompt(4)}}
	r1, _, _ := c.turn(t, first, secret)
	if held := settle(t, h, base); held <= 0 {
		t.Fatalf("no entry stored (%d bytes held)", held)
	}
	waitFor(t, "the capped ttl to pass and the entry to be freed", 10*time.Second, func() bool {
		return h.budget.InUse() == base
	})
	if _, cached, _ := c.turn(t, secondTurn(first, r1.text), secret); cached != 0 {
		t.Fatalf("turn 2 after the ttl took %d cached tokens", cached)
	}
}
