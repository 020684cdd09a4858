package llama

import (
	"slices"
	"testing"

	"github.com/sottolabs/sotto/internal/locked"
)

// TestPromptPacking: a step splits only its first prompt; a later prompt
// goes in whole or waits, and shorter ones behind it take the room. The
// engine here is bare (no context, no scheduler goroutine): addPrompts
// only fills the batch.
func TestPromptPacking(t *testing.T) {
	cases := map[string]struct {
		rest []int // remaining prompt tokens per slot, admission order
		room int
		want []int // tokens each slot puts in the step
	}{
		"whole prompts, the third waits": {[]int{13, 13, 13, 13}, 30, []int{13, 13, 0, 0}},
		"a shorter one behind fills up":  {[]int{20, 15, 5}, 30, []int{20, 0, 5}},
		"the first is split":             {[]int{40, 5, 3}, 30, []int{30, 0, 0}},
		"everything fits":                {[]int{4, 4, 4}, 64, []int{4, 4, 4}},
	}
	for name, c := range cases {
		b, err := newBatch(locked.NewBudget(locked.Unlimited), 64, 256, int32(len(c.rest)))
		if err != nil {
			t.Fatal(err)
		}
		e := &Engine{batch: b, slots: make([]slot, len(c.rest))}
		for i, n := range c.rest {
			e.slots[i] = slot{seq: int32(i), state: slotPrefill, outIdx: -1, job: &job{prompt: make([]Token, n)}}
			e.order = append(e.order, i)
		}
		e.addPrompts(c.room)
		got := make([]int, len(c.rest))
		for i := range e.slots {
			got[i] = e.slots[i].pending
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: pending = %v, want %v", name, got, c.want)
		}
		b.free()
	}
}
