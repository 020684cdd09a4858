// Package gguf reads and writes GGUF, the model file format of llama.cpp:
// a header of typed metadata key/values and tensor infos, followed by the
// aligned tensor data. Read parses the header of v2/v3 files without
// trusting any count in it, so malformed input yields a typed error rather
// than a panic or a huge allocation; Writer streams a v3 file of any size.
// Tensor data is never interpreted here.
package gguf
