package llama

import (
	"errors"
	"testing"

	"github.com/sottolabs/sotto/internal/locked"
)

// TestPrefixCacheMustFit: a cache that, full, would leave the slots no
// locked memory for their prompts is refused at NewEngine (issue 17, item
// 3); one that fits starts.
func TestPrefixCacheMustFit(t *testing.T) {
	m := stories(t)
	budget := locked.NewBudget(4 << 20)
	_, err := NewEngine(m, Config{Slots: 2, ContextPerSlot: 256, Threads: 1, PrefixCacheBytes: 4 << 20, Budget: budget})
	if !errors.Is(err, ErrPrefixCacheTooLarge) || !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("a cache as large as the budget: %v, want ErrPrefixCacheTooLarge", err)
	}
	e, err := NewEngine(m, Config{Slots: 2, ContextPerSlot: 256, Threads: 1, PrefixCacheBytes: 2 << 20, Budget: budget})
	if err != nil {
		t.Fatalf("a cache that fits: %v", err)
	}
	e.Close()
}
