package synth

import (
	"fmt"
	"strings"

	"github.com/sottolabs/sotto/internal/gguf"
)

// Token types of tokenizer.ggml.token_type (enum llama_token_type).
const (
	tokenNormal  = 1
	tokenUnknown = 2
	tokenControl = 3
	tokenUnused  = 5
	tokenByte    = 6
)

// Templates are the named chat templates Config.ChatTemplate may take.
var Templates = map[string]string{
	"chatml": "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}",
}

// chatmlTokens are the control tokens the chatml template uses; the
// built-in vocabulary includes them whenever the template mentions them,
// so that llama.cpp parses them as single special tokens.
var chatmlTokens = []string{"<|im_start|>", "<|im_end|>"}

// minVocab is the size of the built-in vocabulary without chat tokens.
const minVocab = 3 + 256

// tokenizerKV returns the tokenizer.* metadata and the vocabulary size.
func tokenizerKV(c Config) ([]gguf.KV, int, error) {
	if c.Vocab != nil {
		return copiedTokenizer(c)
	}
	return builtinTokenizer(c)
}

// copiedTokenizer copies every tokenizer.* key of c.Vocab, in order;
// ChatTemplate, when set, replaces tokenizer.chat_template.
func copiedTokenizer(c Config) ([]gguf.KV, int, error) {
	n := c.Vocab.VocabSize()
	if n == 0 {
		return nil, 0, fmt.Errorf("synth: vocab file has no tokenizer.ggml.tokens")
	}
	if c.NVocab != 0 && c.NVocab != n {
		return nil, 0, fmt.Errorf("synth: n_vocab %d differs from the vocab file's %d tokens", c.NVocab, n)
	}
	var kv []gguf.KV
	for _, p := range c.Vocab.KV {
		if strings.HasPrefix(p.Key, "tokenizer.") && !(c.ChatTemplate != "" && p.Key == keyTemplate) {
			kv = append(kv, p)
		}
	}
	if c.ChatTemplate != "" {
		kv = append(kv, gguf.KV{Key: keyTemplate, Value: gguf.String(c.ChatTemplate)})
	}
	return kv, n, nil
}

const keyTemplate = "tokenizer.chat_template"

// builtinTokenizer is a SentencePiece ("llama") vocabulary of <unk>, <s>,
// </s> and the 256 byte tokens <0x00>..<0xFF>: llama.cpp tokenizes any
// text into it by byte fallback. Chat control tokens and unused padding
// tokens (up to c.NVocab) follow.
func builtinTokenizer(c Config) ([]gguf.KV, int, error) {
	tokens := []string{"<unk>", "<s>", "</s>"}
	types := []int32{tokenUnknown, tokenControl, tokenControl}
	for b := 0; b < 256; b++ {
		tokens = append(tokens, fmt.Sprintf("<0x%02X>", b))
		types = append(types, tokenByte)
	}
	eot := -1
	if strings.Contains(c.ChatTemplate, chatmlTokens[0]) {
		eot = len(tokens) + 1
		tokens = append(tokens, chatmlTokens...)
		types = append(types, tokenControl, tokenControl)
	}
	if c.NVocab != 0 && c.NVocab < len(tokens) {
		return nil, 0, fmt.Errorf("synth: n_vocab %d is below the built-in vocabulary's %d tokens", c.NVocab, len(tokens))
	}
	for i := 0; len(tokens) < c.NVocab; i++ {
		tokens = append(tokens, fmt.Sprintf("<unused%d>", i))
		types = append(types, tokenUnused)
	}
	kv := []gguf.KV{
		{Key: "tokenizer.ggml.model", Value: gguf.String("llama")},
		{Key: "tokenizer.ggml.tokens", Value: gguf.Strings(tokens)},
		{Key: "tokenizer.ggml.scores", Value: gguf.Float32s(make([]float32, len(tokens)))},
		{Key: "tokenizer.ggml.token_type", Value: gguf.Int32s(types)},
		{Key: "tokenizer.ggml.unknown_token_id", Value: gguf.Uint32(0)},
		{Key: "tokenizer.ggml.bos_token_id", Value: gguf.Uint32(1)},
		{Key: "tokenizer.ggml.eos_token_id", Value: gguf.Uint32(2)},
		{Key: "tokenizer.ggml.add_bos_token", Value: gguf.Bool(true)},
		{Key: "tokenizer.ggml.add_eos_token", Value: gguf.Bool(false)},
	}
	if eot >= 0 {
		kv = append(kv, gguf.KV{Key: "tokenizer.ggml.eot_token_id", Value: gguf.Uint32(uint32(eot))})
	}
	if c.ChatTemplate != "" {
		kv = append(kv, gguf.KV{Key: keyTemplate, Value: gguf.String(c.ChatTemplate)})
	}
	return kv, len(tokens), nil
}
