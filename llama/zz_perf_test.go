package llama

import (
	"context"
	"testing"
	"time"
)

func TestZZPerf(t *testing.T) {
	for _, th := range []int{1, 2, 1, 2} {
		e := newEngine(t, Config{Slots: 1, ContextPerSlot: 1024, Threads: th})
		req := &Request{Tokens: synthPrompt(e.Model(), 16, 1), MaxTokens: 500, IgnoreEOS: true}
		st := time.Now()
		e.Generate(context.Background(), req, func([]byte) error { return nil })
		t.Logf("threads %d: %.0f tok/s", th, 500/time.Since(st).Seconds())
		e.Close()
	}
}
