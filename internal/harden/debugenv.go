package harden

import "os"

// DebugVars are the llama.cpp and ggml variables (read with getenv in the
// pinned sources: llama/llama.cpp and ml/backend/ggml of the Ollama
// module) that make the library print request content or tensors: token
// text of every batch (LLAMA_BATCH_DEBUG=2), KV cells, graph inputs and
// results, scheduler assignments, backend tensors. At LOG_LEVEL=debug
// Sotto forwards llama.cpp's log, so any of them would put prompts in the
// journal. The GPU backends' entries are listed for when one is built in.
var DebugVars = []string{
	"LLAMA_BATCH_DEBUG", "LLAMA_KV_CACHE_DEBUG", "LLAMA_GRAPH_INPUT_DEBUG", "LLAMA_GRAPH_RESULT_DEBUG",
	"LLAMA_TRACE", "GGML_SCHED_DEBUG", "GGML_SCHED_DEBUG_REALLOC", "MTMD_DEBUG_GRAPH",
	"GGML_METAL_GRAPH_DEBUG", "GGML_METAL_FUSION_DEBUG", "GGML_VK_DEBUG_MARKERS",
	"GGML_VULKAN_OUTPUT_TENSOR", "GGML_VK_PERF_LOGGER", "GGML_BACKTRACE_LLDB",
}

// NoBacktraceVar stops ggml from attaching gdb to itself on an abort: its
// backtrace prints frame arguments, which may be token ids, to stderr.
const NoBacktraceVar = "GGML_NO_BACKTRACE"

// ClearDebugEnv unsets every DebugVars entry and sets NoBacktraceVar, in
// Go's environment and (through cgo's hooks) the C library's, before
// llama.cpp reads them. It returns the names it cleared (never values),
// for a warning.
func ClearDebugEnv() ([]string, error) {
	var cleared []string
	for _, name := range DebugVars {
		if _, ok := os.LookupEnv(name); ok {
			if err := os.Unsetenv(name); err != nil {
				return cleared, err
			}
			cleared = append(cleared, name)
		}
	}
	return cleared, os.Setenv(NoBacktraceVar, "1")
}
