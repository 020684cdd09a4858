// Package synth writes llama-architecture GGUF models with random weights:
// noise generators that load and run in llama.cpp exactly like trained
// models of the same shape and tensor type. They let tests and benchmarks
// run without downloading a real model (a synthesized TinyLlama-1.1B shape
// costs the same per token as the real one), and give `make run` a model
// to serve when none is installed. Weights are deterministic in the seed.
package synth

import (
	"fmt"
	"slices"
	"sort"

	"github.com/sottolabs/sotto/internal/gguf"
)

// Config is the shape and content of a synthesized model.
type Config struct {
	Name    string // general.name
	NEmbd   int    // embedding length (n_embd)
	NLayer  int    // transformer blocks
	NFF     int    // feed-forward length
	NHead   int    // attention heads
	NHeadKV int    // key/value heads (grouped-query attention)
	NCtx    int    // training context length
	// NVocab is the vocabulary size with the built-in tokenizer: the byte
	// vocabulary padded with unused tokens. 0 means the built-in minimum.
	// It must be 0 or equal the vocab file's size when Vocab is set.
	NVocab int
	Type   gguf.TensorType // type of all 2-D weights: F32, F16, Q8_0 or Q4_0
	Seed   uint64
	// Vocab, when set, supplies the tokenizer: every tokenizer.* key is
	// copied from it.
	Vocab *gguf.File
	// ChatTemplate is stored as tokenizer.chat_template when not empty
	// (see Templates for named ones).
	ChatTemplate string
	// Arch is the architecture: "" (llama) or ArchGemma2, Gemma 2's layout
	// (post-attention and post-FFN norms, tied output, sliding-window
	// attention every other layer: llama.cpp's iSWA KV cache).
	Arch string
}

// ArchGemma2 is Config.Arch for Gemma 2's layout.
const ArchGemma2 = "gemma2"

// arch is the GGUF architecture name, the prefix of its keys.
func (c Config) arch() string {
	if c.Arch == "" {
		return "llama"
	}
	return c.Arch
}

// Presets are the named shapes. Vocab sizes assume the built-in tokenizer
// (tinyllama-1.1b's 32000 equals ggml-vocab-llama-spm.gguf's).
var Presets = map[string]Config{
	// tiny: the fastest model that exercises every code path.
	"tiny": {Name: "synth-tiny", NEmbd: 64, NLayer: 2, NFF: 128, NHead: 4, NHeadKV: 2, NCtx: 2048},
	// demo: ~15M parameters, big enough to look like a model at work.
	"demo": {Name: "synth-demo", NEmbd: 384, NLayer: 8, NFF: 1280, NHead: 6, NHeadKV: 2, NCtx: 2048},
	// tinyllama-1.1b: TinyLlama 1.1B's shape, for speed measurements.
	"tinyllama-1.1b": {Name: "synth-tinyllama-1.1b", NEmbd: 2048, NLayer: 22, NFF: 5632,
		NHead: 32, NHeadKV: 4, NCtx: 2048, NVocab: 32000},
}

// PresetNames returns the preset names, sorted.
func PresetNames() []string {
	names := make([]string, 0, len(Presets))
	for n := range Presets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Preset returns the named preset with tensor type F16 and seed 0.
func Preset(name string) (Config, error) {
	c, ok := Presets[name]
	if !ok {
		return Config{}, fmt.Errorf("synth: unknown preset %q (have %v)", name, PresetNames())
	}
	c.Type = gguf.TypeF16
	return c, nil
}

var weightTypes = []gguf.TensorType{gguf.TypeF32, gguf.TypeF16, gguf.TypeQ8_0, gguf.TypeQ4_0}

// Validate checks that llama.cpp can build a model of this shape.
func (c Config) Validate() error {
	dims := []struct {
		name string
		v    int
	}{{"n_embd", c.NEmbd}, {"n_layer", c.NLayer}, {"n_ff", c.NFF}, {"n_head", c.NHead},
		{"n_head_kv", c.NHeadKV}, {"n_ctx", c.NCtx}}
	for _, d := range dims {
		if d.v <= 0 {
			return fmt.Errorf("synth: %s must be positive, got %d", d.name, d.v)
		}
	}
	if !slices.Contains(weightTypes, c.Type) {
		return fmt.Errorf("synth: tensor type %s not supported (want f32, f16, q8_0 or q4_0)", c.Type)
	}
	if c.NEmbd%c.NHead != 0 {
		return fmt.Errorf("synth: n_embd %d is not a multiple of n_head %d", c.NEmbd, c.NHead)
	}
	if c.NHead%c.NHeadKV != 0 {
		return fmt.Errorf("synth: n_head %d is not a multiple of n_head_kv %d", c.NHead, c.NHeadKV)
	}
	if bs := int(c.Type.BlockSize()); c.NEmbd%bs != 0 || c.NFF%bs != 0 {
		return fmt.Errorf("synth: %s needs n_embd and n_ff to be multiples of %d (got %d, %d)",
			c.Type, bs, c.NEmbd, c.NFF)
	}
	if c.Arch != "" && c.Arch != ArchGemma2 {
		return fmt.Errorf("synth: architecture %q not supported (want llama or %s)", c.Arch, ArchGemma2)
	}
	if c.NVocab < 0 {
		return fmt.Errorf("synth: n_vocab must not be negative, got %d", c.NVocab)
	}
	return nil
}

// fileType is general.file_type (enum llama_ftype) for the weight type.
func fileType(t gguf.TensorType) uint32 {
	switch t {
	case gguf.TypeF16:
		return 1
	case gguf.TypeQ4_0:
		return 2
	case gguf.TypeQ8_0:
		return 7
	}
	return 0 // all F32
}
