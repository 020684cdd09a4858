package llama

import (
	"context"
	"slices"
	"sync"
	"testing"
)

// TestStepTokens: while a stream generates, a prompt moves StepTokens
// less the decodes a step (at least a quarter of StepTokens); alone, it
// takes PromptChunk.
func TestStepTokens(t *testing.T) {
	e := newEngine(t, Config{Slots: 2, StepTokens: 4, QueueDepth: -1})
	for _, c := range []struct{ decodes, want int }{{0, 64}, {1, 3}, {2, 2}, {3, 1}, {4, 1}, {9, 1}} {
		if got := e.promptRoom(512, c.decodes); got != c.want {
			t.Errorf("promptRoom with %d decodes = %d, want %d", c.decodes, got, c.want)
		}
	}
	wide := newEngine(t, Config{Slots: 2, StepTokens: 16, QueueDepth: -1})
	if got := wide.promptRoom(512, 14); got != 4 {
		t.Errorf("StepTokens 16, 14 decodes: promptRoom = %d, want 4 (a quarter)", got)
	}

	// Through the scheduler: B's prompt, arriving while A generates,
	// prefills 3 tokens a step, in steps that also decode A's next token.
	prompt := []byte(batchPrompts[2])
	n, _ := stories(t).Tokenize(prompt, make([]Token, 64), true, false)
	var mu sync.Mutex
	var mixed []int // prompt tokens of each step that also decoded
	e.stepProbe = func(decodes, prompt int) {
		if decodes > 0 && prompt > 0 {
			mu.Lock()
			mixed = append(mixed, prompt)
			mu.Unlock()
		}
	}
	generating := make(chan struct{})
	aDone := make(chan error, 1)
	go func() {
		var once sync.Once
		_, err := e.Generate(context.Background(), &Request{Prompt: []byte(onceUpon), MaxTokens: 200},
			func([]byte) error { once.Do(func() { close(generating) }); return nil })
		aDone <- err
	}()
	<-generating
	_, _, res, err := collect(t, e, &Request{Prompt: prompt, MaxTokens: 1})
	select {
	case err := <-aDone:
		t.Fatalf("A ended (%v) before B's prefill did", err)
	default:
	}
	if err != nil || res.PromptTokens != n {
		t.Fatalf("B: %+v %v", res, err)
	}
	if err := <-aDone; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := make([]int, 0, n/3+1)
	for left := n; left > 0; left -= 3 {
		want = append(want, min(left, 3))
	}
	if !slices.Equal(mixed, want) {
		t.Errorf("B's %d prompt tokens beside a generating stream went in steps of %v, want %v", n, mixed, want)
	}
}
