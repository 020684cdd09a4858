package gguf

// Get returns the value of key.
func (f *File) Get(key string) (Value, bool) {
	for _, kv := range f.KV {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return Value{}, false
}

// GetString returns a string value, or "" when key is absent or not a string.
func (f *File) GetString(key string) string {
	v, _ := f.Get(key)
	s, _ := v.Str()
	return s
}

// Uint returns an integer value as uint64; ok is false when key is absent
// or not a non-negative integer.
func (f *File) Uint(key string) (uint64, bool) {
	v, ok := f.Get(key)
	if !ok {
		return 0, false
	}
	return v.Uint()
}

// Arch returns general.architecture ("llama", "gpt2", ...).
func (f *File) Arch() string { return f.GetString("general.architecture") }

// ArchUint returns the integer value of "<arch>.<suffix>", e.g.
// ArchUint("context_length") reads llama.context_length.
func (f *File) ArchUint(suffix string) (uint64, bool) {
	return f.Uint(f.Arch() + "." + suffix)
}

// Params returns the total number of tensor elements.
func (f *File) Params() uint64 {
	var n uint64
	for _, t := range f.Tensors {
		n += t.Elements()
	}
	return n
}

// VocabSize returns the number of tokens in tokenizer.ggml.tokens (0 when
// there is no tokenizer).
func (f *File) VocabSize() int {
	v, _ := f.Get("tokenizer.ggml.tokens")
	return v.Len()
}
