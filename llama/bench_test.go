package llama

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sottolabs/sotto/internal/testenv"
)

// BenchmarkGenerate measures decode throughput on stories260K with 1 and
// 4 concurrent streams (one op = one generated token, all streams).
func BenchmarkGenerate(b *testing.B) {
	for _, par := range []int{1, 4} {
		b.Run(fmt.Sprintf("streams=%d", par), func(b *testing.B) {
			e := newEngine(b, Config{Slots: par, ContextPerSlot: 1024})
			b.ResetTimer()
			start := time.Now()
			remaining := b.N
			for remaining > 0 {
				per := min(max(remaining/par, 1), 900)
				var wg sync.WaitGroup
				for i := range par {
					wg.Add(1)
					go func() {
						defer wg.Done()
						req := &Request{Tokens: SyntheticPrompt(e.Model(), 16, uint32(i+1)), MaxTokens: per, IgnoreEOS: true}
						if _, err := e.Generate(context.Background(), req, func([]byte) error { return nil }); err != nil {
							b.Error(err)
						}
					}()
				}
				wg.Wait()
				remaining -= per * par
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "tok/s")
		})
	}
}

// BenchmarkTokenize tokenizes 1 KiB of English with the Llama-2 vocabulary.
func BenchmarkTokenize(b *testing.B) {
	m, err := LoadModel(testenv.Model(b, "ggml-vocab-llama-spm.gguf"), ModelParams{VocabOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	text := make([]byte, 0, 1024)
	for len(text) < 1024-len(onceGreedy) {
		text = append(text, onceGreedy...)
	}
	dst := make([]Token, 1024)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		if _, err := m.Tokenize(text, dst, true, false); err != nil {
			b.Fatal(err)
		}
	}
}
