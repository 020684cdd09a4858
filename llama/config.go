package llama

import (
	"fmt"
	"runtime"
	"time"

	"github.com/sottolabs/sotto/internal/locked"
)

// Config sizes an Engine. Zero fields take the documented defaults.
type Config struct {
	// Slots is the number of sequences decoded together (default 4).
	Slots int
	// ContextPerSlot is each sequence's context in tokens, prompt plus
	// completion (default 2048, capped at the model's training context).
	ContextPerSlot int
	// BatchSize is the most tokens one decode step processes (default 512).
	BatchSize int
	// PromptChunk is the most prompt tokens one step takes (default
	// min(64, BatchSize); at most BatchSize). Small chunks let queued
	// prompts finish one after another (lower median time to first token)
	// and bound how long a long prompt delays the other streams' next
	// token; on CPU, prefill costs about the same per token from ~32
	// tokens a step up, so little throughput is lost.
	PromptChunk int
	// StepTokens is the most tokens one step takes while any stream is
	// generating (0: no limit but BatchSize and PromptChunk). Every
	// generating stream's next token goes first and prompts fill the
	// rest, but always get at least a quarter of StepTokens (at least 1),
	// so a prompt keeps moving however many streams generate. A step's
	// time grows with its tokens (on 2 CPU cores, TinyLlama Q4_0: 35 ms
	// for 1, 133 ms for 8, 323 ms for 24), and every generating stream
	// waits for the whole step: the budget bounds how long an arriving
	// prompt stretches their inter-token latency, at the price of its own
	// time to first token. With no stream generating, prompts take
	// PromptChunk.
	StepTokens int
	// Threads is the number of CPU threads ggml uses (default NumCPU).
	Threads int
	// QueueDepth is how many requests may wait beyond the busy slots
	// before Generate refuses with ErrOverloaded (default 16; -1 = none).
	QueueDepth int
	// MaxTokensCap is the largest MaxTokens a request may ask for, and the
	// default for requests that leave it 0 (default 4096).
	MaxTokensCap int
	// Budget is charged for per-request locked memory (prompt tokens,
	// formatted chat); nil means unlimited.
	Budget *locked.Budget
	// PrefixCacheBytes caps the locked memory the prefix cache keeps
	// (conversations' KV state, Request.PrefixKey); 0 turns it off.
	PrefixCacheBytes int64
	// PrefixCacheDevices is how many devices (Request.PrefixOwner) hold
	// conversations in the prefix cache at once, each in an equal share
	// of PrefixCacheBytes (default 8; see prefixcache.go).
	PrefixCacheDevices int
	// PrefixCacheMaxTTL caps a request's PrefixTTL (default 10 minutes).
	PrefixCacheMaxTTL time.Duration
	// ThreadPoll is ggml's polling level, 1..100: how long an idle worker
	// thread spins waiting for the next step's graph before it sleeps
	// (ggml: 1024*128*level pause rounds; 50, the default, is tens of
	// milliseconds). -1 turns polling off: workers sleep after each
	// graph and are woken by the next (a futex wake a step). Spinning
	// workers take CPU from the Go goroutines that stream the tokens.
	ThreadPoll int
	// flashAttnOff turns flash attention off (tests: llama.cpp then
	// stores V transposed, the other layout the KV wipe handles).
	flashAttnOff bool
}

const defaultPromptChunk = 64

// defaultThreadPoll is ggml's own default polling level.
const defaultThreadPoll = 50

// Limits of Config fields; larger values are configuration mistakes.
const (
	maxSlots     = 256 // llama.cpp's LLAMA_MAX_SEQ
	maxBatchSize = 1 << 16
	maxThreads   = 512 // GGML_MAX_N_THREADS
	maxQueue     = 1 << 16
)

// withDefaults returns cfg with zero fields defaulted and ContextPerSlot
// capped at the training context, or an error wrapping ErrInvalidConfig.
func (cfg Config) withDefaults(ctxTrain int) (Config, error) {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&cfg.Slots, 4)
	def(&cfg.ContextPerSlot, 2048)
	def(&cfg.BatchSize, 512)
	def(&cfg.PromptChunk, min(defaultPromptChunk, cfg.BatchSize))
	def(&cfg.Threads, runtime.NumCPU())
	def(&cfg.QueueDepth, 16)
	def(&cfg.MaxTokensCap, 4096)
	def(&cfg.ThreadPoll, defaultThreadPoll)
	def(&cfg.PrefixCacheDevices, defaultPrefixOwners)
	if cfg.PrefixCacheMaxTTL <= 0 {
		cfg.PrefixCacheMaxTTL = 10 * time.Minute
	}
	if cfg.PrefixCacheBytes < 0 {
		return cfg, fmt.Errorf("%w: PrefixCacheBytes = %d, want >= 0", ErrInvalidConfig, cfg.PrefixCacheBytes)
	}
	if cfg.QueueDepth == -1 {
		cfg.QueueDepth = 0
	}
	if ctxTrain > 0 && cfg.ContextPerSlot > ctxTrain {
		cfg.ContextPerSlot = ctxTrain
	}
	checks := []struct {
		name     string
		v, lo, h int
	}{
		{"Slots", cfg.Slots, 1, maxSlots},
		{"ContextPerSlot", cfg.ContextPerSlot, 8, 1 << 20},
		{"BatchSize", cfg.BatchSize, 1, maxBatchSize},
		{"PromptChunk", cfg.PromptChunk, 1, cfg.BatchSize},
		{"StepTokens", cfg.StepTokens, 0, cfg.BatchSize},
		{"Threads", cfg.Threads, 1, maxThreads},
		{"QueueDepth", cfg.QueueDepth, 0, maxQueue},
		{"MaxTokensCap", cfg.MaxTokensCap, 1, 1 << 20},
		{"ThreadPoll", cfg.ThreadPoll, -1, 100},
	}
	for _, c := range checks {
		if c.v < c.lo || c.v > c.h {
			return cfg, fmt.Errorf("%w: %s = %d, want %d..%d", ErrInvalidConfig, c.name, c.v, c.lo, c.h)
		}
	}
	if cfg.BatchSize < cfg.Slots {
		return cfg, fmt.Errorf("%w: BatchSize %d < Slots %d (each generating slot needs one token per step)", ErrInvalidConfig, cfg.BatchSize, cfg.Slots)
	}
	if int64(cfg.Slots)*int64(cfg.ContextPerSlot) > 1<<31-1 {
		return cfg, fmt.Errorf("%w: Slots*ContextPerSlot overflows", ErrInvalidConfig)
	}
	if cfg.Budget == nil {
		cfg.Budget = locked.NewBudget(locked.Unlimited)
	}
	return cfg, cfg.checkPrefixFits()
}

// ErrPrefixCacheTooLarge: PrefixCacheBytes leaves no room under the
// locked-memory budget for the slots' own requests.
var ErrPrefixCacheTooLarge = fmt.Errorf("%w: the prefix cache does not fit under the locked-memory limit", ErrInvalidConfig)

// checkPrefixFits refuses a prefix cache that, full, would leave less
// locked memory than every slot's prompt tokens need: conversations would
// then turn every other request away with 503 until they expire (issue
// 17, item 3).
func (cfg Config) checkPrefixFits() error {
	limit := cfg.Budget.Limit()
	if cfg.PrefixCacheBytes == 0 || limit < 0 {
		return nil
	}
	slots := int64(cfg.Slots) * locked.Cost(4*cfg.ContextPerSlot)
	if cfg.PrefixCacheBytes+slots > limit {
		return fmt.Errorf("%w: %d cache bytes + %d for %d slots' prompts > %d locked bytes; lower SOTTO_PREFIX_CACHE_BYTES or raise LimitMEMLOCK",
			ErrPrefixCacheTooLarge, cfg.PrefixCacheBytes, slots, cfg.Slots, limit)
	}
	return nil
}
