package llama

import (
	"errors"
	"testing"
)

// TestRawDecodeBench runs the llama-bench-equivalent baseline on
// stories260K: it must decode and report rates (their values are not
// checked: timings belong in benchmarks).
func TestRawDecodeBench(t *testing.T) {
	m := stories(t)
	for _, prompt := range []int{0, 8, 600} { // 600 > n_batch: two prompt decodes
		r, err := RawDecodeBench(m, 1, prompt, 16)
		if err != nil {
			t.Fatalf("prompt %d: %v", prompt, err)
		}
		if r.GenTokPerS <= 0 || r.Gen <= 0 || r.GenTokens != 16 || r.Threads != 1 {
			t.Errorf("prompt %d: %+v", prompt, r)
		}
		if (prompt > 0) != (r.PromptTokPerS > 0) {
			t.Errorf("prompt %d: prompt rate %v", prompt, r.PromptTokPerS)
		}
	}
}

func TestRawDecodeBenchInvalid(t *testing.T) {
	m := stories(t)
	for _, c := range []struct{ threads, prompt, gen int }{
		{0, 8, 8}, {maxThreads + 1, 8, 8}, {1, -1, 8}, {1, 8, 0}, {1, 2000, 100}, {1, 8, 1 << 30},
	} {
		if _, err := RawDecodeBench(m, c.threads, c.prompt, c.gen); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%+v: err = %v, want ErrInvalidConfig", c, err)
		}
	}
	if _, err := RawDecodeBench(nil, 1, 8, 8); !errors.Is(err, ErrClosed) {
		t.Errorf("nil model: err = %v, want ErrClosed", err)
	}
}
