package gguf

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/sottolabs/sotto/internal/testenv"
)

// modelFacts are the header facts of /work/shared/models as SOURCES.md
// states them. -1 means "absent".
type modelFacts struct {
	size           int64
	arch           string
	tensors        int
	params         uint64
	types          map[string]int
	tokenizer, pre string
	vocab, merges  int
	bos, eos       int64
	ctxTrain       uint64
	template       bool
}

var sharedModels = map[string]modelFacts{
	"stories260K.gguf": {size: 1185376, arch: "llama", tensors: 48, params: 292800,
		types: map[string]int{"f32": 48}, tokenizer: "llama", vocab: 512, bos: 1, eos: 2, ctxTrain: 2048},
	"llama-2-tiny-random.gguf": {size: 1750560, arch: "llama", tensors: 12, params: 513048,
		types: map[string]int{"f16": 9, "f32": 3}, tokenizer: "llama", vocab: 32000, bos: 1, eos: 2, ctxTrain: 4096},
	"mmproj-tinygemma3.gguf": {size: 1039072, arch: "clip", tensors: 71, params: 844288,
		types: map[string]int{"q8_0": 24, "f32": 46, "f16": 1}, bos: -1, eos: -1},
	"ggml-vocab-baichuan.gguf": {size: 1340998, arch: "baichuan", tokenizer: "llama", vocab: 64000, bos: 1, eos: 2, ctxTrain: 4096},
	"ggml-vocab-bert-bge.gguf": {size: 627549, arch: "bert", tokenizer: "bert", pre: "bert-bge", vocab: 30522, bos: -1, eos: -1, ctxTrain: 512},
	"ggml-vocab-deepseek-coder.gguf": {size: 1156067, arch: "llama", tokenizer: "gpt2", pre: "deepseek-coder",
		vocab: 32256, merges: 31757, bos: 32013, eos: 32014, ctxTrain: 16384},
	"ggml-vocab-deepseek-llm.gguf": {size: 3970167, arch: "llama", tokenizer: "gpt2", pre: "deepseek-llm",
		vocab: 102400, merges: 99757, bos: 100000, eos: 100001, ctxTrain: 4096},
	"ggml-vocab-falcon.gguf": {size: 2287728, arch: "falcon", tokenizer: "gpt2", pre: "falcon",
		vocab: 65024, merges: 64784, bos: 11, eos: 11, ctxTrain: 2048},
	"ggml-vocab-gpt-2.gguf": {size: 1766807, arch: "gpt2", tokenizer: "gpt2", pre: "gpt-2",
		vocab: 50257, merges: 50000, bos: 50256, eos: 50256, ctxTrain: 1024},
	"ggml-vocab-gpt-neox.gguf": {size: 1771431, arch: "gptneox", tokenizer: "gpt2",
		vocab: 50432, merges: 50009, bos: 0, eos: 0, ctxTrain: 2048},
	"ggml-vocab-llama-spm.gguf": {size: 723869, arch: "llama", tokenizer: "llama", pre: "default",
		vocab: 32000, bos: 1, eos: 2, ctxTrain: 4096},
	"ggml-vocab-mpt.gguf": {size: 1771393, arch: "mpt", tokenizer: "gpt2", pre: "mpt",
		vocab: 50432, merges: 50009, bos: 0, eos: 0, ctxTrain: 2048},
	"ggml-vocab-phi-3.gguf": {size: 726019, arch: "phi3", tokenizer: "llama", pre: "default",
		vocab: 32064, bos: 1, eos: 32000, ctxTrain: 4096, template: true},
	"ggml-vocab-refact.gguf": {size: 1720710, arch: "refact", tokenizer: "gpt2", pre: "refact",
		vocab: 49216, merges: 48891, bos: 0, eos: 0, ctxTrain: 4096},
	"ggml-vocab-starcoder.gguf": {size: 1719346, arch: "starcoder2", tokenizer: "gpt2", pre: "starcoder",
		vocab: 49152, merges: 48872, bos: 0, eos: 0, ctxTrain: 16384},
}

func optID(p *uint64) int64 {
	if p == nil {
		return -1
	}
	return int64(*p)
}

// TestSharedModels checks every shared model's header against SOURCES.md.
func TestSharedModels(t *testing.T) {
	dir := testenv.ModelsDir(t)
	for name, want := range sharedModels {
		t.Run(name, func(t *testing.T) {
			f, err := Open(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			s := f.Summary()
			merges, _ := f.Get("tokenizer.ggml.merges")
			if want.types == nil {
				want.types = map[string]int{}
			}
			got := modelFacts{size: s.Size, arch: s.Arch, tensors: s.TensorCount, params: s.Params,
				types: s.TensorTypes, tokenizer: s.Tokenizer, pre: s.Pre, vocab: s.VocabSize,
				merges: merges.Len(), bos: optID(s.BOS), eos: optID(s.EOS), ctxTrain: s.ContextLength,
				template: s.ChatTemplate}
			if g, w := fmtFacts(got), fmtFacts(want); g != w {
				t.Errorf("facts:\n got %s\nwant %s", g, w)
			}
			if f.Version != 3 || f.Alignment != 32 {
				t.Errorf("version %d alignment %d, want 3 and 32", f.Version, f.Alignment)
			}
		})
	}
}

func fmtFacts(m modelFacts) string {
	return fmt.Sprintf("%+v", m)
}

// TestStoriesTensors spot-checks tensor infos and the data offset of
// stories260K.gguf.
func TestStoriesTensors(t *testing.T) {
	f, err := Open(testenv.Model(t, "stories260K.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]TensorInfo{}
	for _, ti := range f.Tensors {
		byName[ti.Name] = ti
	}
	emb := byName["token_embd.weight"]
	if fmt.Sprint(emb.Shape) != "[64 512]" || emb.Type != TypeF32 || emb.Bytes() != 64*512*4 {
		t.Errorf("token_embd.weight = %+v", emb)
	}
	ff := byName["blk.4.ffn_down.weight"]
	if fmt.Sprint(ff.Shape) != "[172 64]" || ff.Type != TypeF32 {
		t.Errorf("blk.4.ffn_down.weight = %+v", ff)
	}
	last := f.Tensors[len(f.Tensors)-1]
	if end := f.DataOffset + int64(last.Offset+last.Bytes()); end != f.Size {
		t.Errorf("data ends at %d, file size %d", end, f.Size)
	}
	if f.DataOffset%32 != 0 {
		t.Errorf("data offset %d not aligned", f.DataOffset)
	}
}

// BenchmarkOpenVocab parses the largest shared header (102400 tokens and
// 99757 merges).
func BenchmarkOpenVocab(b *testing.B) {
	path := testenv.Model(b, "ggml-vocab-deepseek-llm.gguf")
	for b.Loop() {
		if _, err := Open(path); err != nil {
			b.Fatal(err)
		}
	}
}
