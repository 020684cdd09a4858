package gguf

import "strings"

// Summary is the model-level view of a GGUF header: what `sotto model
// info` prints. Absent keys are zero (omitted from JSON); token ids are
// pointers because 0 is a valid id.
type Summary struct {
	Version         uint32         `json:"gguf_version"`
	Arch            string         `json:"arch"`
	Name            string         `json:"name,omitempty"`
	FileType        *uint64        `json:"file_type,omitempty"`
	Params          uint64         `json:"params"`
	TensorCount     int            `json:"tensor_count"`
	TensorTypes     map[string]int `json:"tensor_types"`
	ContextLength   uint64         `json:"context_length,omitempty"`
	EmbeddingLength uint64         `json:"embedding_length,omitempty"`
	BlockCount      uint64         `json:"block_count,omitempty"`
	FeedForward     uint64         `json:"feed_forward_length,omitempty"`
	HeadCount       uint64         `json:"head_count,omitempty"`
	HeadCountKV     uint64         `json:"head_count_kv,omitempty"`
	Tokenizer       string         `json:"tokenizer,omitempty"`
	Pre             string         `json:"tokenizer_pre,omitempty"`
	VocabSize       int            `json:"vocab_size"`
	BOS             *uint64        `json:"bos_token_id,omitempty"`
	EOS             *uint64        `json:"eos_token_id,omitempty"`
	ChatTemplate    bool           `json:"chat_template"`
	Alignment       uint64         `json:"alignment"`
	Size            int64          `json:"size"`
}

// Summary extracts the Summary of f.
func (f *File) Summary() Summary {
	s := Summary{
		Version:     f.Version,
		Arch:        f.Arch(),
		Name:        f.GetString("general.name"),
		FileType:    f.optUint("general.file_type"),
		Params:      f.Params(),
		TensorCount: len(f.Tensors),
		TensorTypes: map[string]int{},
		Tokenizer:   f.GetString("tokenizer.ggml.model"),
		Pre:         f.GetString("tokenizer.ggml.pre"),
		VocabSize:   f.VocabSize(),
		BOS:         f.optUint("tokenizer.ggml.bos_token_id"),
		EOS:         f.optUint("tokenizer.ggml.eos_token_id"),
		Alignment:   f.Alignment,
		Size:        f.Size,
	}
	s.ContextLength, _ = f.ArchUint("context_length")
	s.EmbeddingLength, _ = f.ArchUint("embedding_length")
	s.BlockCount, _ = f.ArchUint("block_count")
	s.FeedForward, _ = f.ArchUint("feed_forward_length")
	s.HeadCount, _ = f.ArchUint("attention.head_count")
	s.HeadCountKV, _ = f.ArchUint("attention.head_count_kv")
	for _, t := range f.Tensors {
		s.TensorTypes[strings.ToLower(t.Type.String())]++
	}
	_, s.ChatTemplate = f.Get("tokenizer.chat_template")
	return s
}

func (f *File) optUint(key string) *uint64 {
	if v, ok := f.Uint(key); ok {
		return &v
	}
	return nil
}
