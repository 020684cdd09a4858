// Package llama is Sotto's embedded inference engine: llama.cpp and the
// ggml CPU backend linked into the process through cgo (from the pinned
// github.com/ollama/ollama module), driven by one scheduler goroutine that
// batches every active request into a single llama_decode per step.
//
// Privacy contract: prompt text, prompt token ids and generated text only
// ever live in caller-owned memory or in locked buffers (internal/locked)
// that are wiped after use; they never become Go strings and never reach
// logs or errors. llama.cpp's own log output is filtered (see SetLogLevel).
// What llama.cpp keeps in ordinary memory (KV cache, logits, compute
// buffers) is described in docs/engine.md.
//
// Safety contract: every value that llama.cpp would otherwise turn into a
// GGML_ASSERT abort (token ids, positions, sequence ids, batch sizes,
// buffer lengths) is validated in Go before the C call; bad input yields a
// typed error from this package, never a crash.
//
// Concurrency: a Model is safe for concurrent use (tokenizing, templating)
// until Close. An Engine is safe for concurrent Generate calls; all
// llama_context work happens on its scheduler goroutine.
//
// Build: this package needs the cgo environment from the Makefile
// (`eval "$(make -s env)"`), which defines GGML_USE_CPU_REPACK and the
// SIMD flags; building without it is a compile error.
package llama
