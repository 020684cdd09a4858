package llama

/*
#ifndef GGML_USE_CPU_REPACK
#error "llama: build with the Makefile's cgo flags: run eval \"$(make -s env)\" first (or use make build / make test)"
#endif
#include "llama.h"
*/
import "C"

import (
	"sync"

	// Compiles llama.cpp and the ggml CPU backend into this binary. We
	// never import ollama's own llama Go package, only the C sources.
	_ "github.com/ollama/ollama/llama/llama.cpp/src"
)

// backendOnce initialises llama.cpp's global state (f16 tables, timers)
// exactly once per process.
var backendOnce sync.Once

func initBackend() {
	backendOnce.Do(func() { C.llama_backend_init() })
}

// SystemInfo returns llama.cpp's description of the compiled CPU features
// (for example "AVX2 = 1 | ... | REPACK = 1"). It holds no request data.
func SystemInfo() string { return C.GoString(C.llama_print_system_info()) }
