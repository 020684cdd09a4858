package llama

import (
	"errors"
	"testing"

	"github.com/sottolabs/sotto/internal/gguf"
	"github.com/sottolabs/sotto/internal/synth"
)

// TestEngineRefusesSlidingWindow: a Gemma 2-shaped model (iSWA KV cache:
// a base and a sliding-window cache) loads, but the engine refuses it
// with ErrSlidingWindow, as its freed SWA cells would not be wiped (issue
// 17, item 2). The same shape as llama runs: the refusal is the cache's.
func TestEngineRefusesSlidingWindow(t *testing.T) {
	c := synth.Presets["tiny"]
	c.Type = gguf.TypeF16
	c.Arch = synth.ArchGemma2
	m := synthModel(t, c)
	defer m.Close()
	e, err := NewEngine(m, Config{Slots: 2, ContextPerSlot: 128, Threads: 1})
	if !errors.Is(err, ErrSlidingWindow) || !errors.Is(err, ErrInvalidModel) {
		if e != nil {
			e.Close()
		}
		t.Fatalf("NewEngine on a sliding-window model: %v, want ErrSlidingWindow", err)
	}
	c.Arch = ""
	ml := synthModel(t, c)
	defer ml.Close()
	e, err = NewEngine(ml, Config{Slots: 2, ContextPerSlot: 128, Threads: 1})
	if err != nil {
		t.Fatalf("the same shape as llama: %v", err)
	}
	e.Close()
}
