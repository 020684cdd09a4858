package llama

/*
#include <time.h>
#include "llama.h"
#include "ggml-cpu.h"

// What sotto_raw_bench leaves for Go: the context and pool (always, so
// that Go frees them on every path), the timings, and where it failed.
struct sotto_raw {
	struct llama_context * ctx;
	struct ggml_threadpool * tp;
	double prompt_s, gen_s;
	int stage;     // 0 ok, 1 context, 2 thread pool, 3 prompt decode, 4 generation decode
	int decode_rc; // llama_decode's return code for stages 3 and 4
};

static double sotto_raw_now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

// sotto_raw_bench is llama-bench's prompt + tg test, all in C so that no
// cgo call or Go scheduling sits between tokens. The context is set up as
// the engine's is (same parameters, persistent ggml thread pool attached),
// with one sequence. toks holds n_prompt + n_gen valid ids: the prompt,
// then the token fed at each generation step (llama-bench does not
// sample, it feeds random ids; so do we).
static void sotto_raw_bench(struct llama_model * m, int threads, const llama_token * toks,
		int n_prompt, int n_gen, int n_batch, struct sotto_raw * out) {
	struct llama_context_params cp = llama_context_default_params();
	cp.n_ctx = (uint32_t)(n_prompt + n_gen);
	cp.n_batch = (uint32_t)n_batch;
	cp.n_ubatch = (uint32_t)n_batch;
	cp.n_seq_max = 1;
	cp.n_threads = threads;
	cp.n_threads_batch = threads;
	cp.no_perf = true;
	cp.embeddings = false;
	cp.kv_unified = true;
	out->stage = 1;
	out->ctx = llama_init_from_model(m, cp);
	if (out->ctx == NULL) return;
	out->stage = 2;
	struct ggml_threadpool_params p = ggml_threadpool_params_default(threads);
	out->tp = ggml_threadpool_new(&p);
	if (out->tp == NULL) return;
	llama_attach_threadpool(out->ctx, out->tp, out->tp);

	// Prompt: as llama-bench's test_prompt, n_batch tokens per decode,
	// logits for the last token only (llama_batch_get_one), one
	// synchronize at the end.
	out->stage = 3;
	double t0 = sotto_raw_now();
	for (int done = 0; done < n_prompt; ) {
		int n = n_prompt - done < n_batch ? n_prompt - done : n_batch;
		out->decode_rc = llama_decode(out->ctx, llama_batch_get_one((llama_token *)toks + done, n));
		if (out->decode_rc != 0) return;
		done += n;
	}
	llama_synchronize(out->ctx);
	double t1 = sotto_raw_now();

	// Generation: as llama-bench's test_gen, one 1-token decode and a
	// synchronize per step (the engine's sampling synchronizes too).
	out->stage = 4;
	for (int i = 0; i < n_gen; i++) {
		out->decode_rc = llama_decode(out->ctx, llama_batch_get_one((llama_token *)toks + n_prompt + i, 1));
		if (out->decode_rc != 0) return;
		llama_synchronize(out->ctx);
	}
	double t2 = sotto_raw_now();
	out->prompt_s = t1 - t0;
	out->gen_s = t2 - t1;
	out->stage = 0;
}
*/
import "C"

import (
	"fmt"
	"time"
	"unsafe"
)

// rawBatch is the prompt batch size, llama-bench's default n_batch and
// the engine's default BatchSize.
const rawBatch = 512

// RawResult is one RawDecodeBench run.
type RawResult struct {
	Threads, PromptTokens, GenTokens int
	// Prompt and Gen are the wall times of the prompt decode and of the
	// genTokens one-token decodes (monotonic clock, measured in C).
	Prompt, Gen time.Duration
	// PromptTokPerS is 0 when there is no prompt.
	PromptTokPerS, GenTokPerS float64
}

// RawDecodeBench is a measuring tool, used only by `sotto bench raw`: the
// same-run baseline equivalent to llama-bench's tg test, against which the
// engine's one-stream generation rate is compared (docs/benchmarks.md).
// It creates a context configured like an Engine's (one sequence, n_ctx =
// promptTokens + genTokens, batch 512, a persistent thread pool of
// threads), decodes a synthetic prompt of promptTokens tokens (0 allowed,
// as in llama-bench's tg, which starts from BOS), then genTokens one-token
// decodes feeding fixed pseudo-random ids without sampling, and frees the
// context. The whole loop runs in C. The tokens are synthetic, never user
// text. Errors wrap ErrClosed, ErrVocabOnly, ErrInvalidConfig or ErrDecode.
func RawDecodeBench(m *Model, threads, promptTokens, genTokens int) (RawResult, error) {
	if m == nil || m.closed.Load() {
		return RawResult{}, ErrClosed
	}
	if m.vocabOnly {
		return RawResult{}, ErrVocabOnly
	}
	ctxMax := 1 << 20
	if m.info.ContextTrain > 0 {
		ctxMax = m.info.ContextTrain
	}
	switch {
	case threads < 1 || threads > maxThreads:
		return RawResult{}, fmt.Errorf("%w: threads = %d, want 1..%d", ErrInvalidConfig, threads, maxThreads)
	case promptTokens < 0 || genTokens < 1 || promptTokens > ctxMax || genTokens > ctxMax-promptTokens:
		return RawResult{}, fmt.Errorf("%w: prompt tokens %d + gen tokens %d: want prompt >= 0, gen >= 1, sum <= %d",
			ErrInvalidConfig, promptTokens, genTokens, ctxMax)
	}
	// BOS then random text tokens, as the engine benchmark's prompts;
	// with no prompt the first generation step feeds BOS, as llama-bench.
	toks := SyntheticPrompt(m, promptTokens+genTokens, 1)
	var out C.struct_sotto_raw
	C.sotto_raw_bench(m.ptr, C.int(threads), (*C.llama_token)(unsafe.Pointer(&toks[0])),
		C.int(promptTokens), C.int(genTokens), rawBatch, &out)
	// Exactly the engine's release path (detach, sotto_llama_free with the
	// malloc-perturbation workaround, pool free): the context has the
	// same use-after-free on free as an engine's.
	(&Engine{ctx: out.ctx, tp: out.tp}).free()
	switch out.stage {
	case 0:
	case 1:
		return RawResult{}, fmt.Errorf("%w: llama.cpp could not create a context", ErrInvalidConfig)
	case 2:
		return RawResult{}, fmt.Errorf("%w: cannot start %d threads", ErrInvalidConfig, threads)
	default:
		return RawResult{}, fmt.Errorf("%w: llama_decode returned %d", ErrDecode, int(out.decode_rc))
	}
	r := RawResult{Threads: threads, PromptTokens: promptTokens, GenTokens: genTokens,
		Prompt: time.Duration(float64(out.prompt_s) * float64(time.Second)),
		Gen:    time.Duration(float64(out.gen_s) * float64(time.Second))}
	if promptTokens > 0 && out.prompt_s > 0 {
		r.PromptTokPerS = float64(promptTokens) / float64(out.prompt_s)
	}
	if out.gen_s > 0 {
		r.GenTokPerS = float64(genTokens) / float64(out.gen_s)
	}
	return r, nil
}
