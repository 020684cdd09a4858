//go:build cgo

// These tests drive the real llama.cpp engine (cgo).

package synth_test

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/sottolabs/sotto/internal/gguf"
	"github.com/sottolabs/sotto/internal/synth"
	"github.com/sottolabs/sotto/llama"
)

// loadTiny synthesizes the tiny preset with the chatml template and loads
// it in llama.cpp.
func loadTiny(t *testing.T, typ gguf.TensorType) *llama.Model {
	t.Helper()
	c, err := synth.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	c.Type = typ
	c.ChatTemplate = synth.Templates["chatml"]
	path := filepath.Join(t.TempDir(), "tiny.gguf")
	if err := synth.WriteFile(path, c); err != nil {
		t.Fatal(err)
	}
	m, err := llama.LoadModel(path, llama.ModelParams{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// TestLlamaLoadsSynthesized: llama.cpp loads every weight type, sees the
// shape and tokenizer synth wrote, and decodes greedily without failing
// (a NaN would surface as a decode error or an invalid token).
func TestLlamaLoadsSynthesized(t *testing.T) {
	for _, typ := range []gguf.TensorType{gguf.TypeF16, gguf.TypeQ8_0, gguf.TypeQ4_0} {
		t.Run(typ.String(), func(t *testing.T) {
			m := loadTiny(t, typ)
			info := m.Info()
			got := fmt.Sprintf("%s ctx=%d embd=%d layers=%d vocab=%d bos=%d eos=%d params=%d tmpl=%v",
				info.Arch, info.ContextTrain, info.EmbeddingSize, info.Layers, info.VocabSize,
				info.BOS, info.EOS, info.Params, info.ChatTemplate == synth.Templates["chatml"])
			want := "llama ctx=2048 embd=64 layers=2 vocab=261 bos=1 eos=2 params=107456 tmpl=true"
			if got != want {
				t.Errorf("info %s\n want %s", got, want)
			}
			first := generate(t, m)
			if again := generate(t, m); again != first {
				t.Errorf("greedy decode is not deterministic: %q vs %q", first, again)
			}
		})
	}
}

func generate(t *testing.T, m *llama.Model) string {
	t.Helper()
	e, err := llama.NewEngine(m, llama.Config{Slots: 1, ContextPerSlot: 128, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	var text []byte
	res, err := e.Generate(context.Background(), &llama.Request{
		Prompt: []byte("Hello"), MaxTokens: 16, IgnoreEOS: true,
	}, func(p []byte) error { text = append(text, p...); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if res.CompletionTokens != 16 || res.Finish != llama.FinishLength {
		t.Errorf("result %+v, want 16 tokens and finish length", res)
	}
	return string(text)
}

// TestLlamaTokenizesBuiltinVocab: llama.cpp tokenizes any text into the
// built-in vocabulary by byte fallback, and parses the chat tokens.
func TestLlamaTokenizesBuiltinVocab(t *testing.T) {
	m := loadTiny(t, gguf.TypeQ4_0)
	dst := make([]llama.Token, 32)
	// BOS, "▁" (e2 96 81), "H", "i", "▁", "é" (c3 a9): byte b is token b+3.
	n, err := m.Tokenize([]byte("Hi é"), dst, true, true)
	want := []llama.Token{1, 0xe2 + 3, 0x96 + 3, 0x81 + 3, 'H' + 3, 'i' + 3, 0xe2 + 3, 0x96 + 3, 0x81 + 3, 0xc3 + 3, 0xa9 + 3}
	if err != nil || !reflect.DeepEqual(dst[:n], want) {
		t.Errorf("Tokenize = %v, %v; want %v", dst[:n], err, want)
	}
	n, err = m.Tokenize([]byte("<|im_start|><|im_end|>"), dst, false, true)
	if err != nil || !reflect.DeepEqual(dst[:n], []llama.Token{259, 260}) {
		t.Errorf("special tokens = %v, %v", dst[:n], err)
	}
	if !m.IsEOG(260) {
		t.Error("<|im_end|> is not end-of-generation")
	}
	buf := make([]byte, 256)
	n, err = m.ApplyChatTemplate([]llama.Message{{Role: llama.RoleUser, Content: []byte("hi")}}, true, buf)
	if want := "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"; err != nil || string(buf[:n]) != want {
		t.Errorf("chat template = %q, %v; want %q", buf[:n], err, want)
	}
}
