package llama

import (
	"context"
	"errors"
	"testing"

	"github.com/sottolabs/sotto/internal/engine"
	"github.com/sottolabs/sotto/internal/locked"
)

// TestPrepareThenGenerate: a prepared request generates exactly what the
// same request does unprepared, the tokens are not made again (the budget
// holds only the prepared buffer), and Release gives the memory back.
func TestPrepareThenGenerate(t *testing.T) {
	budget := locked.NewBudget(locked.Unlimited)
	e := newEngine(t, Config{Slots: 1, Budget: budget})
	msgs := []Message{{Role: RoleUser, Content: []byte(onceUpon)}}
	want, _, wantRes, err := collect(t, e, &Request{Messages: msgs, MaxTokens: 12})
	if err != nil {
		t.Fatal(err)
	}
	idle := budget.InUse()
	req := &Request{Messages: msgs, MaxTokens: 12}
	p, err := e.Prepare(req)
	if err != nil {
		t.Fatal(err)
	}
	if p.PromptTokens != wantRes.PromptTokens || p.MaxTokens != 12 {
		t.Fatalf("prepared %d tokens, max %d; want %d, 12", p.PromptTokens, p.MaxTokens, wantRes.PromptTokens)
	}
	prepared := budget.InUse() - idle
	// While it runs, Generate holds no second token buffer: the locked
	// memory beyond idle is the prepared prompt alone.
	var during int64
	var text []byte
	res, err := e.Generate(context.Background(), &Request{Messages: msgs, Prepared: p}, func(piece []byte) error {
		during = max(during, budget.InUse()-idle)
		text = append(text, piece...)
		return nil
	})
	if res = untimed(t, res); err != nil || string(text) != want || res != wantRes {
		t.Fatalf("prepared: %q %+v %v; want %q %+v", text, res, err, want, wantRes)
	}
	if during != prepared {
		t.Errorf("during Generate %d locked bytes beyond idle, want the prepared %d", during, prepared)
	}
	p.Release()
	p.Release()
	if budget.InUse() != idle {
		t.Errorf("after Release %d bytes, want %d", budget.InUse(), idle)
	}
}

// TestPrepareRefusals: each refusal is its sentinel, before any queueing.
func TestPrepareRefusals(t *testing.T) {
	e := newEngine(t, Config{Slots: 1, ContextPerSlot: 16, MaxTokensCap: 100})
	user := func(s string) []Message { return []Message{{Role: RoleUser, Content: []byte(s)}} }
	for name, tc := range map[string]struct {
		req  *Request
		want error
	}{
		"nul":              {&Request{Messages: user("a\x00b")}, engine.ErrMessageNUL},
		"long prompt":      {&Request{Prompt: []byte(batchPrompts[2])}, engine.ErrPromptTooLong},
		"long chat":        {&Request{Messages: user(batchPrompts[2])}, engine.ErrPromptTooLong},
		"long tokens":      {&Request{Tokens: make([]Token, 17)}, engine.ErrPromptTooLong},
		"prompt + max":     {&Request{Prompt: []byte(onceUpon), MaxTokens: 12}, ErrContextOverflow},
		"top_k":            {&Request{Prompt: []byte(onceUpon), Sampling: Sampling{TopK: 513}}, ErrInvalidRequest},
		"max over the cap": {&Request{Prompt: []byte(onceUpon), MaxTokens: 101}, ErrInvalidRequest},
	} {
		p, err := e.Prepare(tc.req)
		if !errors.Is(err, tc.want) || p != nil {
			t.Errorf("%s: %v, %v; want %v", name, p, err, tc.want)
		}
	}
	_, err := e.Prepare(&Request{Prompt: []byte(onceUpon), Sampling: Sampling{TopK: 513}})
	var re *engine.RangeError
	if !errors.As(err, &re) || re.Field != "top_k" {
		t.Errorf("top_k: %v, want a RangeError for top_k", err)
	}
	if _, err := e.Prepare(&Request{Prompt: []byte(onceUpon), MaxTokens: 11}); errors.Is(err, engine.ErrPromptTooLong) || err != nil {
		t.Errorf("5 + 11 = 16 fits: %v", err)
	}
}

// TestPrepareMaxTokensDefault: without MaxTokens the bound is
// min(MaxTokensDefault, cap, context left).
func TestPrepareMaxTokensDefault(t *testing.T) {
	e := newEngine(t, Config{Slots: 1, ContextPerSlot: 16, MaxTokensCap: 8})
	for _, tc := range []struct{ def, want int }{{0, 8}, {4, 4}, {20, 8}} {
		p, err := e.Prepare(&Request{Prompt: []byte(onceUpon), MaxTokensDefault: tc.def})
		if err != nil || p.MaxTokens != tc.want {
			t.Errorf("default %d: %+v %v, want %d", tc.def, p, err, tc.want)
		}
		p.Release()
	}
	wide := newEngine(t, Config{Slots: 1, ContextPerSlot: 16, MaxTokensCap: 100})
	p, err := wide.Prepare(&Request{Prompt: []byte(onceUpon), MaxTokensDefault: 32})
	if err != nil || p.MaxTokens != 11 {
		t.Fatalf("default 32 in 11 tokens left: %+v %v, want 11", p, err)
	}
	p.Release()
}

// TestPreparedFromAnotherEngine: a Prepared that does not fit this
// engine's slots is refused, never decoded past the context.
func TestPreparedFromAnotherEngine(t *testing.T) {
	big := newEngine(t, Config{Slots: 1, ContextPerSlot: 256})
	small := newEngine(t, Config{Slots: 1, ContextPerSlot: 16, MaxTokensCap: 100})
	p, err := big.Prepare(&Request{Prompt: []byte(onceUpon), MaxTokens: 40})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Release()
	if _, _, _, err := collect(t, small, &Request{Prepared: p}); !errors.Is(err, ErrInvalidRequest) {
		t.Fatalf("foreign prepared: %v, want ErrInvalidRequest", err)
	}
	p.Release()
	if _, _, _, err := collect(t, big, &Request{Prepared: p}); !errors.Is(err, ErrInvalidRequest) {
		t.Fatalf("released prepared: %v, want ErrInvalidRequest", err)
	}
}
