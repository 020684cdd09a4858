package synth

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"io"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/sottolabs/sotto/internal/gguf"
	"github.com/sottolabs/sotto/internal/testenv"
)

func build(t testing.TB, c Config) ([]byte, *gguf.File) {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, c); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Read(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), f
}

func tiny(t testing.TB, typ gguf.TensorType) Config {
	c, err := Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	c.Type = typ
	return c
}

// TestTinyShape checks the header of the tiny preset exactly.
func TestTinyShape(t *testing.T) {
	_, f := build(t, tiny(t, gguf.TypeQ4_0))
	s := f.Summary()
	ft := uint64(2)
	bos, eos := uint64(1), uint64(2)
	want := gguf.Summary{Version: 3, Arch: "llama", Name: "synth-tiny", FileType: &ft,
		// embeddings and output, 2 blocks of attention and FFN, 5 norms
		Params: 2*259*64 + 2*(2*64*64+2*64*32+3*64*128) + 5*64, TensorCount: 21,
		TensorTypes: map[string]int{"f32": 5, "q4_0": 16}, ContextLength: 2048, EmbeddingLength: 64,
		BlockCount: 2, FeedForward: 128, HeadCount: 4, HeadCountKV: 2, Tokenizer: "llama",
		VocabSize: 259, BOS: &bos, EOS: &eos, Alignment: 32, Size: f.Size}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("summary\n got %+v\nwant %+v", s, want)
	}
	if d, _ := f.Uint("llama.rope.dimension_count"); d != 16 {
		t.Errorf("rope dims %d, want 16", d)
	}
}

// TestDeterministic pins the bytes of the tiny model: the same seed gives
// the same file, another seed another file with the same header.
func TestDeterministic(t *testing.T) {
	c := tiny(t, gguf.TypeQ4_0)
	a, _ := build(t, c)
	sum := sha256.Sum256(a)
	const want = "df7939eca7566319d3fec0fd36cd809e65176c745f8c030d2046feeb580d4f77"
	if got := hex.EncodeToString(sum[:]); got != want {
		t.Errorf("sha256 = %s, want %s", got, want)
	}
	c.Seed = 1
	b, f := build(t, c)
	if len(a) != len(b) || bytes.Equal(a, b) {
		t.Errorf("seed 1: %d bytes vs %d, equal %v", len(b), len(a), bytes.Equal(a, b))
	}
	if !bytes.Equal(a[:f.DataOffset], b[:f.DataOffset]) {
		t.Error("header depends on the seed")
	}
}

func tensorData(t *testing.T, b []byte, f *gguf.File, name string) []byte {
	for _, ti := range f.Tensors {
		if ti.Name == name {
			start := f.DataOffset + int64(ti.Offset)
			return b[start : start+int64(ti.Bytes())]
		}
	}
	t.Fatalf("no tensor %s", name)
	return nil
}

// dequant decodes Q4_0/Q8_0/F16/F32 data with ggml's block layouts.
func dequant(typ gguf.TensorType, b []byte) []float64 {
	var out []float64
	switch typ {
	case gguf.TypeQ4_0:
		for i := 0; i < len(b); i += 18 {
			d := fromHalf(binary.LittleEndian.Uint16(b[i:]))
			lo, hi := make([]float64, 16), make([]float64, 16)
			for j := 0; j < 16; j++ {
				q := b[i+2+j]
				lo[j] = float64(int(q&0x0f)-8) * d
				hi[j] = float64(int(q>>4)-8) * d
			}
			out = append(append(out, lo...), hi...)
		}
	case gguf.TypeQ8_0:
		for i := 0; i < len(b); i += 34 {
			d := fromHalf(binary.LittleEndian.Uint16(b[i:]))
			for j := 0; j < 32; j++ {
				out = append(out, float64(int8(b[i+2+j]))*d)
			}
		}
	case gguf.TypeF16:
		for i := 0; i < len(b); i += 2 {
			out = append(out, fromHalf(binary.LittleEndian.Uint16(b[i:])))
		}
	case gguf.TypeF32:
		for i := 0; i < len(b); i += 4 {
			out = append(out, float64(math.Float32frombits(binary.LittleEndian.Uint32(b[i:]))))
		}
	}
	return out
}

// fromHalf decodes normal and subnormal halves (all the generator makes).
func fromHalf(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	exp, mant := int(h>>10&0x1f), float64(h&0x3ff)
	if exp == 0 {
		return sign * mant * math.Pow(2, -24)
	}
	return sign * (1 + mant/1024) * math.Pow(2, float64(exp-15))
}

// TestWeightStatistics: every weight type decodes (with ggml's layout) to
// values of mean ~0 and standard deviation ~0.02; norms are exactly 1.
func TestWeightStatistics(t *testing.T) {
	for _, typ := range []gguf.TensorType{gguf.TypeF32, gguf.TypeF16, gguf.TypeQ8_0, gguf.TypeQ4_0} {
		t.Run(typ.String(), func(t *testing.T) {
			b, f := build(t, tiny(t, typ))
			v := dequant(typ, tensorData(t, b, f, "blk.0.ffn_up.weight"))
			if len(v) != 64*128 {
				t.Fatalf("%d values", len(v))
			}
			var sum, sq, maxAbs float64
			for _, x := range v {
				sum += x
				sq += x * x
				maxAbs = max(maxAbs, math.Abs(x))
			}
			mean, std := sum/float64(len(v)), math.Sqrt(sq/float64(len(v)))
			if math.Abs(mean) > 0.001 || math.Abs(std-weightStd) > 0.001 || maxAbs > 0.08 {
				t.Errorf("mean %.5f std %.5f max %.4f", mean, std, maxAbs)
			}
			for _, x := range dequant(gguf.TypeF32, tensorData(t, b, f, "output_norm.weight")) {
				if x != 1 {
					t.Fatalf("norm weight %g", x)
				}
			}
		})
	}
}

// TestQ4ScaleExact: Q4_0 scales are exactly ±fp16(0.02/rmsQ4).
func TestQ4ScaleExact(t *testing.T) {
	b, f := build(t, tiny(t, gguf.TypeQ4_0))
	data := tensorData(t, b, f, "token_embd.weight")
	pos, neg := 0, 0
	for i := 0; i < len(data); i += 18 {
		switch binary.LittleEndian.Uint16(data[i:]) {
		case 0x1c6b: // 0.02/rmsQ4 = 0.004313 = 2^-8 * (1 + 107/1024)
			pos++
		case 0x9c6b:
			neg++
		default:
			t.Fatalf("block %d scale %#04x", i/18, binary.LittleEndian.Uint16(data[i:]))
		}
	}
	if pos+neg != 259*2 || pos < 200 || neg < 200 {
		t.Errorf("%d positive, %d negative scales", pos, neg)
	}
}

func TestBuiltinVocab(t *testing.T) {
	c := tiny(t, gguf.TypeF16)
	c.ChatTemplate = Templates["chatml"]
	c.NVocab = 300
	_, f := build(t, c)
	v, _ := f.Get("tokenizer.ggml.tokens")
	tokens, _ := v.Strings()
	types, _ := f.Get("tokenizer.ggml.token_type")
	tt := types.Raw().([]int32)
	want := map[int]string{0: "<unk>", 1: "<s>", 2: "</s>", 3: "<0x00>", 13: "<0x0A>", 258: "<0xFF>",
		259: "<|im_start|>", 260: "<|im_end|>", 261: "<unused0>", 299: "<unused38>"}
	wantType := map[int]int32{0: 2, 1: 3, 2: 3, 3: 6, 13: 6, 258: 6, 259: 3, 260: 3, 261: 5, 299: 5}
	if len(tokens) != 300 || len(tt) != 300 {
		t.Fatalf("%d tokens, %d types", len(tokens), len(tt))
	}
	for id, s := range want {
		if tokens[id] != s || tt[id] != wantType[id] {
			t.Errorf("token %d = %q type %d, want %q type %d", id, tokens[id], tt[id], s, wantType[id])
		}
	}
	if eot, _ := f.Uint("tokenizer.ggml.eot_token_id"); eot != 260 {
		t.Errorf("eot %d", eot)
	}
	if f.GetString("tokenizer.chat_template") != Templates["chatml"] {
		t.Error("template missing")
	}
}

// TestCopiedVocab: every tokenizer.* key of the vocab file is copied
// verbatim and sets the vocabulary size.
func TestCopiedVocab(t *testing.T) {
	src, err := gguf.Open(testenv.Model(t, "ggml-vocab-llama-spm.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	c := tiny(t, gguf.TypeQ8_0)
	c.Vocab = src
	_, f := build(t, c)
	var want, got []gguf.KV
	for _, kv := range src.KV {
		if strings.HasPrefix(kv.Key, "tokenizer.") {
			want = append(want, kv)
		}
	}
	for _, kv := range f.KV {
		if strings.HasPrefix(kv.Key, "tokenizer.") {
			got = append(got, kv)
		}
	}
	if len(want) == 0 || !reflect.DeepEqual(got, want) {
		t.Errorf("tokenizer keys differ: %d vs %d", len(got), len(want))
	}
	if n, _ := f.Uint("llama.vocab_size"); n != 32000 || f.Tensors[0].Shape[1] != 32000 {
		t.Errorf("vocab %d, token_embd %v", n, f.Tensors[0].Shape)
	}
	c.NVocab = 100
	if err := Write(io.Discard, c); err == nil || err.Error() != "synth: n_vocab 100 differs from the vocab file's 32000 tokens" {
		t.Errorf("n_vocab mismatch: %v", err)
	}
}

func TestValidate(t *testing.T) {
	base := tiny(t, gguf.TypeQ4_0)
	cases := []struct {
		mod  func(*Config)
		want string
	}{
		{func(c *Config) { c.NLayer = 0 }, "synth: n_layer must be positive, got 0"},
		{func(c *Config) { c.NHead = 3 }, "synth: n_embd 64 is not a multiple of n_head 3"},
		{func(c *Config) { c.NHeadKV = 3 }, "synth: n_head 4 is not a multiple of n_head_kv 3"},
		{func(c *Config) { c.NFF = 100 }, "synth: q4_0 needs n_embd and n_ff to be multiples of 32 (got 64, 100)"},
		{func(c *Config) { c.Type = gguf.TypeQ6_K }, "synth: tensor type q6_K not supported (want f32, f16, q8_0 or q4_0)"},
		{func(c *Config) { c.NVocab = 10 }, "synth: n_vocab 10 is below the built-in vocabulary's 259 tokens"},
	}
	for _, tc := range cases {
		c := base
		tc.mod(&c)
		if err := Write(io.Discard, c); err == nil || err.Error() != tc.want {
			t.Errorf("err = %v, want %s", err, tc.want)
		}
	}
	if _, err := Preset("huge"); err == nil || err.Error() != `synth: unknown preset "huge" (have [demo tiny tinyllama-1.1b])` {
		t.Errorf("Preset: %v", err)
	}
}

// TestPresetParams pins the parameter counts of the presets.
func TestPresetParams(t *testing.T) {
	want := map[string]uint64{
		"tiny": 2*259*64 + 2*(2*64*64+2*64*32+3*64*128) + 5*64,
		"demo": 15147648,
		// TinyLlama-1.1B's published parameter count.
		"tinyllama-1.1b": 1100048384,
	}
	for name, n := range want {
		c, _ := Preset(name)
		var params uint64
		nVocab := max(c.NVocab, minVocab)
		for _, ti := range c.Tensors(nVocab) {
			params += ti.Elements()
		}
		if params != n {
			t.Errorf("%s: %d params, want %d", name, params, n)
		}
	}
}

func BenchmarkWriteTinyLlamaQ4(b *testing.B) {
	c, _ := Preset("tinyllama-1.1b")
	c.Type = gguf.TypeQ4_0
	b.SetBytes(619830144)
	for b.Loop() {
		if err := Write(io.Discard, c); err != nil {
			b.Fatal(err)
		}
	}
}
