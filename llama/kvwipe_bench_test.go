package llama

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/sottolabs/sotto/internal/gguf"
	"github.com/sottolabs/sotto/internal/synth"
)

// kvShaped is a synthesized model whose KV cache has TinyLlama 1.1B's
// shape (22 layers, 4 KV heads of 64 dims, F16 cells: 22.5 KiB a cell) in
// a small body, so filling 8192 cells takes seconds, not hours. The wipe
// only depends on the cache's shape.
var kvShaped = synth.Config{Name: "synth-kv-tinyllama", NEmbd: 256, NLayer: 22, NFF: 256,
	NHead: 4, NHeadKV: 4, NCtx: 8192, Type: gguf.TypeF16, Seed: 1}

// BenchmarkKVWipe measures the wipe at the end of a request that filled
// its slot's context: one op zeroes (every layer's K and V) and frees
// ctx-1 cells. The cells are refilled between ops from a state saved
// after one real prefill (untimed).
func BenchmarkKVWipe(b *testing.B) {
	var shaped *Model
	for _, tc := range []struct {
		model string
		ctx   int
	}{{"stories260K", 512}, {kvShaped.Name, 512}, {kvShaped.Name, 2048}, {kvShaped.Name, 8192}} {
		b.Run(fmt.Sprintf("%s/ctx=%d", tc.model, tc.ctx), func(b *testing.B) {
			m := stories(b)
			if tc.model == kvShaped.Name {
				if shaped == nil {
					shaped = synthModel(b, kvShaped)
				}
				m = shaped
			}
			benchKVWipe(b, m, tc.ctx)
		})
	}
	if shaped != nil {
		shaped.Close()
	}
}

func benchKVWipe(b *testing.B, m *Model, ctx int) {
	e, err := NewEngine(m, Config{Slots: 1, ContextPerSlot: ctx, Threads: runtime.NumCPU()})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	var state []byte
	req := &Request{Tokens: SyntheticPrompt(m, ctx-1, 1), MaxTokens: 1, IgnoreEOS: true}
	res, err := e.Generate(context.Background(), req, func([]byte) error {
		state = make([]byte, e.seqStateSize(0))
		state = state[:e.saveSeq(0, state)]
		return nil
	})
	if err != nil || len(state) == 0 {
		b.Fatalf("fill: %v, state %d bytes", err, len(state))
	}
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		if !e.restoreSeq(0, state) {
			b.Fatal("restore failed")
		}
		b.StartTimer()
		if n := e.wipeSeq(0); n != ctx-1 {
			b.Fatalf("wiped %d cells, want %d", n, ctx-1)
		}
	}
	b.ReportMetric(float64(len(state))/(1<<20), "MiB-state")
	b.ReportMetric(float64(res.FirstToken.Milliseconds()), "prefill-ms")
}

// synthModel writes c to a temporary GGUF and loads it.
func synthModel(b testing.TB, c synth.Config) *Model {
	path := filepath.Join(b.TempDir(), "model.gguf")
	if err := synth.WriteFile(path, c); err != nil {
		b.Fatal(err)
	}
	m, err := LoadModel(path, ModelParams{})
	if err != nil {
		b.Fatal(err)
	}
	return m
}
