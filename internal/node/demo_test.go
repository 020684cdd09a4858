package node

import (
	"context"
	"strings"
	"testing"

	"github.com/sottolabs/sotto/internal/demomodel"
)

// demoGreedy is stories260K's greedy continuation of the story template's
// "Tell me a story\n" (24 tokens). The plain fallback, with no newline,
// continues the request itself instead (" is to try new things...").
const demoGreedy = "One day, Tom and his mom went to the store. They saw a big bo"

// TestDemoModelWhenNoneConfigured: in development with no SOTTO_MODEL the
// node serves the embedded demo model through its story template, and
// says so once.
func TestDemoModelWhenNoneConfigured(t *testing.T) {
	r := startNode(t, map[string]string{"SOTTO_SLOTS": "1", "SOTTO_CONTEXT": "256"})
	var b strings.Builder
	res, err := r.client.Chat(context.Background(), greedy("Tell me a story", 24), func(p []byte) error { b.Write(p); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if res.PromptTokens != 11 || res.CompletionTokens != 24 || b.String() != demoGreedy {
		t.Fatalf("result %+v, text %q", res, b.String())
	}
	if n := strings.Count(string(r.logs.Bytes()), demomodel.Notice); n != 1 {
		t.Fatalf("the demo notice was logged %d times, want once\n%s", n, r.logs.Bytes())
	}
}
