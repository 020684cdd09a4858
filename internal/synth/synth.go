package synth

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/sottolabs/sotto/internal/gguf"
)

// Tensors returns the llama tensor infos of the model, in file order, for
// a vocabulary of nVocab tokens.
func (c Config) Tensors(nVocab int) []gguf.TensorInfo {
	e, ff, v := uint64(c.NEmbd), uint64(c.NFF), uint64(nVocab)
	kvDim := e / uint64(c.NHead) * uint64(c.NHeadKV)
	ts := []gguf.TensorInfo{{Name: "token_embd.weight", Shape: []uint64{e, v}, Type: c.Type}}
	for i := 0; i < c.NLayer; i++ {
		blk := func(name string, shape ...uint64) {
			typ := c.Type
			if len(shape) == 1 {
				typ = gguf.TypeF32
			}
			ts = append(ts, gguf.TensorInfo{Name: fmt.Sprintf("blk.%d.%s.weight", i, name), Shape: shape, Type: typ})
		}
		blk("attn_norm", e)
		blk("attn_q", e, e)
		blk("attn_k", e, kvDim)
		blk("attn_v", e, kvDim)
		blk("attn_output", e, e)
		if c.Arch == ArchGemma2 {
			blk("post_attention_norm", e)
		}
		blk("ffn_norm", e)
		blk("ffn_gate", e, ff)
		blk("ffn_up", e, ff)
		blk("ffn_down", ff, e)
		if c.Arch == ArchGemma2 {
			blk("post_ffw_norm", e)
		}
	}
	ts = append(ts, gguf.TensorInfo{Name: "output_norm.weight", Shape: []uint64{e}, Type: gguf.TypeF32})
	if c.Arch == ArchGemma2 { // the output is the token embedding
		return ts
	}
	return append(ts, gguf.TensorInfo{Name: "output.weight", Shape: []uint64{e, v}, Type: c.Type})
}

// metadata returns the general.* and <arch>.* keys followed by the
// tokenizer, and the vocabulary size.
func (c Config) metadata() ([]gguf.KV, int, error) {
	tok, nVocab, err := tokenizerKV(c)
	if err != nil {
		return nil, 0, err
	}
	u := func(v int) gguf.Value { return gguf.Uint32(uint32(v)) }
	a := c.arch()
	kv := []gguf.KV{
		{Key: "general.architecture", Value: gguf.String(a)},
		{Key: "general.name", Value: gguf.String(c.Name)},
		{Key: "general.file_type", Value: gguf.Uint32(fileType(c.Type))},
		{Key: "general.quantization_version", Value: gguf.Uint32(2)},
		{Key: a + ".vocab_size", Value: u(nVocab)},
		{Key: a + ".context_length", Value: u(c.NCtx)},
		{Key: a + ".embedding_length", Value: u(c.NEmbd)},
		{Key: a + ".block_count", Value: u(c.NLayer)},
		{Key: a + ".feed_forward_length", Value: u(c.NFF)},
		{Key: a + ".rope.dimension_count", Value: u(c.NEmbd / c.NHead)},
		{Key: a + ".attention.head_count", Value: u(c.NHead)},
		{Key: a + ".attention.head_count_kv", Value: u(c.NHeadKV)},
		{Key: a + ".attention.layer_norm_rms_epsilon", Value: gguf.Float32(1e-5)},
		{Key: a + ".rope.freq_base", Value: gguf.Float32(10000)},
	}
	if c.Arch == ArchGemma2 { // a window shorter than a test's prompt
		kv = append(kv, gguf.KV{Key: a + ".attention.sliding_window", Value: u(16)})
	}
	return append(kv, tok...), nVocab, nil
}

// Write streams the model to w: header, then each tensor's random data.
// Memory use is independent of the model size.
func Write(w io.Writer, c Config) error {
	if err := c.Validate(); err != nil {
		return err
	}
	kv, nVocab, err := c.metadata()
	if err != nil {
		return err
	}
	gw, err := gguf.NewWriter(w, kv, c.Tensors(nVocab))
	if err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	for _, t := range gw.Tensors() {
		if err := writeTensor(gw, t, c.Seed); err != nil {
			return fmt.Errorf("synth: tensor %s: %w", t.Name, err)
		}
	}
	if err := gw.Close(); err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	return nil
}

// WriteFile writes the model to path atomically: a partial file never
// appears under path.
func WriteFile(path string, c Config) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".synth-*.gguf.tmp")
	if err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err = Write(tmp, c); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	if err = os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	return nil
}
