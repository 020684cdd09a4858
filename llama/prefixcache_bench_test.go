package llama

import (
	"context"
	"os"
	"runtime"
	"testing"
	"time"
)

// BenchmarkPrefixTurn2 measures a chat's second turn (a 400-token history
// plus 6 new tokens) with and without the prefix cache, on the
// synthesized TinyLlama-shaped cache model (kvwipe_bench_test.go). One op
// = one turn 2; the turn 1 that fills the cache is untimed. Reported:
// time to first token and the prompt tokens reused.
// SOTTO_BENCH_PREFIX_MODEL=path runs it on another GGUF instead.
func BenchmarkPrefixTurn2(b *testing.B) {
	var m *Model
	if path := os.Getenv("SOTTO_BENCH_PREFIX_MODEL"); path != "" {
		var err error
		if m, err = LoadModel(path, ModelParams{}); err != nil {
			b.Fatal(err)
		}
	} else {
		m = synthModel(b, kvShaped)
	}
	defer m.Close()
	for _, cached := range []bool{false, true} {
		name := "uncached"
		if cached {
			name = "cached"
		}
		b.Run(name, func(b *testing.B) {
			e, err := NewEngine(m, Config{Slots: 1, ContextPerSlot: 1024, Threads: runtime.NumCPU(), PrefixCacheBytes: 1 << 30})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			prompt := SyntheticPrompt(m, 406, 3)
			var ttft time.Duration
			var reused int
			for i := range b.N {
				var key *[32]byte
				if cached {
					key = &[32]byte{byte(i), 1}
				}
				b.StopTimer()
				benchTurn(b, e, key, prompt[:400])
				b.StartTimer()
				res := benchTurn(b, e, key, prompt)
				ttft += res.FirstToken
				reused += res.CachedTokens
			}
			b.ReportMetric(float64(ttft.Milliseconds())/float64(b.N), "ttft-ms")
			b.ReportMetric(float64(reused)/float64(b.N), "reused-tokens")
		})
	}
}

func benchTurn(b *testing.B, e *Engine, key *[32]byte, prompt []Token) Result {
	res, err := e.Generate(context.Background(), &Request{Tokens: prompt, MaxTokens: 1, IgnoreEOS: true, PrefixKey: key},
		func([]byte) error { return nil })
	if err != nil {
		b.Fatal(err)
	}
	return res
}
