package llama

/*
#include <malloc.h>
#include "llama.h"
#include "ggml-cpu.h"

// sotto_llama_free frees a context with glibc's free-time perturbation
// off. Ollama's patch 0022 makes ggml_backend_sched_free call into the
// backends, which ~llama_context has already destroyed (its `sched` member
// is declared before `backends`): a use-after-free that reads stale but
// intact memory under plain malloc, and crashes when `sotto serve`'s
// hardening (internal/harden) overwrites freed memory. Frees elsewhere in
// the process during this call are not perturbed either; it runs only when
// an engine closes.
static void sotto_llama_free(struct llama_context * ctx, int perturb) {
	if (perturb != 0) mallopt(M_PERTURB, 0);
	llama_free(ctx);
	if (perturb != 0) mallopt(M_PERTURB, perturb);
}

// sotto_init_context creates a context with glibc's perturbation off.
// Perturbation also fills every block at malloc (with perturb ^ 0xff),
// which makes the whole reserved compute buffer (66 MiB for a 1.1B model
// at a batch of 512) resident at start although a decode touches only
// what its graph needs; llama.cpp zeroes the KV buffer itself. Nothing
// freed while a context is created holds a request's data (requests run
// on a context only after this returns).
static struct llama_context * sotto_init_context(struct llama_model * m, struct llama_context_params p, int perturb) {
	if (perturb != 0) mallopt(M_PERTURB, 0);
	struct llama_context * ctx = llama_init_from_model(m, p);
	if (perturb != 0) mallopt(M_PERTURB, perturb);
	return ctx;
}

static struct ggml_threadpool * sotto_threadpool(int n, int poll) {
	struct ggml_threadpool_params p = ggml_threadpool_params_default(n);
	p.poll = poll < 0 ? 0 : (uint32_t)poll;
	return ggml_threadpool_new(&p);
}
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sottolabs/sotto/internal/harden"

	"github.com/sottolabs/sotto/internal/locked"
)

// Engine runs generations on one llama_context. One scheduler goroutine
// owns the context and decodes every active sequence (slot) in a single
// llama_decode per step; Generate is safe for concurrent use.
type Engine struct {
	m   *Model
	cfg Config

	ctx *C.struct_llama_context
	mem C.llama_memory_t
	tp  *C.struct_ggml_threadpool

	// Scheduler-owned state.
	slots []slot
	order []int // active slot indices in admission order
	batch *batch

	qmu    sync.Mutex // guards queue and closed; Stats reads busy and queued under it
	queue  []*job
	closed bool

	inflight atomic.Int32 // admitted Generate calls (queued + running + preparing)
	busy     atomic.Int32
	queued   atomic.Int32
	steps    atomic.Uint64
	kvUsed   atomic.Int64
	kvTotal  int
	// kvReleased is the bytes of KV buffer given back at start (kvwipe.go).
	kvReleased int64
	prefix     *prefixCache // nil when Config.PrefixCacheBytes is 0
	// shutdownProbe, when set (tests), runs on the scheduler goroutine
	// after the cache is wiped at shutdown and before it is freed.
	shutdownProbe func()
	// returnProbe, when set (tests), runs in Generate after the job is
	// done and before the call returns.
	returnProbe func()
	// stepProbe, when set (tests), runs on the scheduler goroutine with
	// each step's decodes and prompt tokens before it is decoded.
	stepProbe         func(decodes, prompt int)
	prefilled, cached atomic.Uint64 // prompt tokens decoded / reused (Stats)
	// wipedCells counts KV cells zeroed when requests ended (tests).
	wipedCells atomic.Uint64
	wake       chan struct{}
	quit       chan struct{}
	stopped    chan struct{}
	closeOnce  sync.Once

	reclaim chan chan struct{} // ReclaimPrefixCache's requests (prefixreuse.go)
}

// NewEngine creates a context for m sized by cfg and starts its
// scheduler. m must outlive the Engine.
func NewEngine(m *Model, cfg Config) (*Engine, error) {
	if m == nil || m.closed.Load() {
		return nil, ErrClosed
	}
	if m.vocabOnly {
		return nil, ErrVocabOnly
	}
	cfg, err := cfg.withDefaults(m.info.ContextTrain)
	if err != nil {
		return nil, err
	}
	e := &Engine{
		m: m, cfg: cfg,
		slots:   make([]slot, cfg.Slots),
		order:   make([]int, 0, cfg.Slots),
		queue:   make([]*job, 0, cfg.Slots+cfg.QueueDepth),
		wake:    make(chan struct{}, 1),
		quit:    make(chan struct{}),
		stopped: make(chan struct{}),
		prefix:  newPrefixCache(&cfg),
		reclaim: make(chan chan struct{}),
	}
	// alloc creates llama.cpp's thread pool on the engine thread, so that
	// its threads inherit that thread's priority (priority.go).
	errc := make(chan error, 1)
	startOnEngineThread(func() {
		if err := e.alloc(); err != nil {
			e.free()
			errc <- err
			return
		}
		errc <- nil
		e.run()
	})
	if err := <-errc; err != nil {
		return nil, err
	}
	return e, nil
}

// alloc creates the llama_context, its thread pool and the locked batch
// and slot buffers.
func (e *Engine) alloc() error {
	cp := C.llama_context_default_params()
	cp.n_ctx = C.uint32_t(e.cfg.Slots * e.cfg.ContextPerSlot)
	cp.n_batch = C.uint32_t(e.cfg.BatchSize)
	cp.n_ubatch = C.uint32_t(e.cfg.BatchSize)
	cp.n_seq_max = C.uint32_t(e.cfg.Slots)
	cp.n_threads = C.int32_t(e.cfg.Threads)
	cp.n_threads_batch = C.int32_t(e.cfg.Threads)
	cp.no_perf = true
	cp.embeddings = false
	// One unified KV buffer: llama.cpp then splits a mixed batch (one
	// token from each generating slot plus prompt chunks) into a single
	// ubatch; per-sequence streams would split it by sequence id.
	cp.kv_unified = true
	if e.cfg.flashAttnOff {
		cp.flash_attn_type = C.LLAMA_FLASH_ATTN_TYPE_DISABLED
	}
	e.ctx = C.sotto_init_context(e.m.ptr, cp, C.int(harden.ActivePerturb()))
	if e.ctx == nil {
		return fmt.Errorf("%w: llama.cpp could not create a context", ErrInvalidConfig)
	}
	e.mem = C.llama_get_memory(e.ctx)
	e.kvTotal = int(C.llama_n_ctx(e.ctx))
	if err := e.checkWipeable(); err != nil {
		return err
	}
	e.releaseZeroedKV()
	// A persistent pool: without it ggml starts and joins its worker
	// threads on every decode step.
	e.tp = C.sotto_threadpool(C.int(e.cfg.Threads), C.int(e.cfg.ThreadPoll))
	if e.tp == nil {
		return fmt.Errorf("%w: cannot start %d threads", ErrInvalidConfig, e.cfg.Threads)
	}
	C.llama_attach_threadpool(e.ctx, e.tp, e.tp)
	var err error
	e.batch, err = newBatch(e.cfg.Budget, e.cfg.BatchSize, int32(e.cfg.ContextPerSlot), int32(e.cfg.Slots))
	if err != nil {
		return fmt.Errorf("llama: engine buffers: %w", err)
	}
	for i := range e.slots {
		e.slots[i].seq = int32(i)
		if err := e.slots[i].initScratch(e.cfg.Budget); err != nil {
			return fmt.Errorf("llama: engine buffers: %w", err)
		}
	}
	return nil
}

// free releases everything alloc created (any subset of it).
func (e *Engine) free() {
	if e.ctx != nil {
		C.llama_detach_threadpool(e.ctx)
		C.sotto_llama_free(e.ctx, C.int(harden.ActivePerturb()))
		e.ctx = nil
	}
	if e.tp != nil {
		C.ggml_threadpool_free(e.tp)
		e.tp = nil
	}
	if e.batch != nil {
		e.batch.free()
		e.batch = nil
	}
	for i := range e.slots {
		e.slots[i].scratch.Destroy()
	}
}

// Config returns the effective configuration (defaults applied).
func (e *Engine) Config() Config { return e.cfg }

// Model returns the engine's model.
func (e *Engine) Model() *Model { return e.m }

// Stats returns a snapshot of the engine's load; safe from any goroutine.
func (e *Engine) Stats() Stats {
	e.qmu.Lock() // busy and queued as one snapshot: pop
	busy, queued := e.busy.Load(), e.queued.Load()
	e.qmu.Unlock()
	return Stats{
		Slots:        e.cfg.Slots,
		BusySlots:    int(busy),
		Queued:       int(queued),
		KVUsedCells:  int(e.kvUsed.Load()),
		KVTotalCells: e.kvTotal,
		Steps:        e.steps.Load(),

		PromptTokensPrefilled: e.prefilled.Load(),
		PromptTokensCached:    e.cached.Load(),
	}
}

// Close stops the scheduler: running and queued requests end with
// ErrClosed (FinishCancelled), then the context is freed. Idempotent. It
// waits for the step in progress, so it must not be called from a Sink.
func (e *Engine) Close() error {
	e.closeOnce.Do(func() {
		e.qmu.Lock()
		e.closed = true
		e.qmu.Unlock()
		close(e.quit)
		<-e.stopped
	})
	return nil
}

// Generate runs req and streams its completion to sink; it blocks until
// the generation ends. See Request and Sink for the memory contract.
// Errors: ErrInvalidRequest, ErrContextOverflow, ErrOverloaded (queue full
// or locked budget exhausted), ErrClosed, ctx.Err() on cancellation (with
// Finish = FinishCancelled and the counts so far), the sink's error, or
// ErrDecode.
func (e *Engine) Generate(ctx context.Context, req *Request, sink Sink) (Result, error) {
	if sink == nil || ctx == nil {
		return Result{}, fmt.Errorf("%w: nil sink or context", ErrInvalidRequest)
	}
	if err := validateRequest(req, e.m, &e.cfg); err != nil {
		return Result{}, err
	}
	if !e.admit() {
		return Result{}, ErrOverloaded
	}
	j, err := e.prepare(ctx, req, sink)
	if err != nil {
		e.inflight.Add(-1)
		return Result{}, err
	}
	defer j.release()
	defer e.leave(j)
	if err := e.enqueue(j); err != nil {
		return Result{PromptTokens: len(j.prompt)}, err
	}
	select {
	case <-j.done:
	case <-ctx.Done():
		if e.unqueue(j) {
			return Result{PromptTokens: len(j.prompt), Finish: FinishCancelled, Total: time.Since(j.start)}, ctx.Err()
		}
		<-j.done
	}
	if e.returnProbe != nil {
		e.returnProbe()
	}
	return j.res, j.err
}

// admit reserves a place among the Slots+QueueDepth requests in flight.
func (e *Engine) admit() bool {
	limit := int32(e.cfg.Slots + e.cfg.QueueDepth)
	for {
		n := e.inflight.Load()
		if n >= limit {
			return false
		}
		if e.inflight.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// leave gives back j's place among the requests in flight, once: when
// its slot finishes (before BusySlots drops, so a caller that reads a free
// slot in Stats is admitted) or when Generate returns without a slot.
func (e *Engine) leave(j *job) {
	if j.left.CompareAndSwap(false, true) {
		e.inflight.Add(-1)
	}
}

// enqueue hands j to the scheduler.
func (e *Engine) enqueue(j *job) error {
	e.qmu.Lock()
	if e.closed {
		e.qmu.Unlock()
		return ErrClosed
	}
	e.queue = append(e.queue, j)
	e.queued.Store(int32(len(e.queue)))
	e.qmu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
	return nil
}

// unqueue removes j if the scheduler has not taken it yet.
func (e *Engine) unqueue(j *job) bool {
	e.qmu.Lock()
	defer e.qmu.Unlock()
	for i, q := range e.queue {
		if q == j {
			e.queue = append(e.queue[:i], e.queue[i+1:]...)
			e.queue = e.queue[:len(e.queue):cap(e.queue)]
			e.queued.Store(int32(len(e.queue)))
			return true
		}
	}
	return false
}

// pop takes the oldest queued job, or nil, and counts it busy. Both counts
// move under qmu, where Stats reads them: Stats shows a job leaving the
// queue in exactly one of them. In neither, the server would read a free
// place that is not; in both, or busy counted before the queue was seen
// empty, it refused a chat beside a free slot.
func (e *Engine) pop() *job {
	e.qmu.Lock()
	defer e.qmu.Unlock()
	if len(e.queue) == 0 {
		return nil
	}
	e.busy.Add(1)
	j := e.queue[0]
	n := copy(e.queue, e.queue[1:])
	e.queue[n] = nil
	e.queue = e.queue[:n]
	e.queued.Store(int32(n))
	return j
}

// prepare makes the job: the prompt from req.Prepared, or tokenized now
// into a locked buffer from the budget, and the resolved MaxTokens.
func (e *Engine) prepare(ctx context.Context, req *Request, sink Sink) (*job, error) {
	j := &job{ctx: ctx, req: req, sink: sink, done: make(chan struct{}), start: time.Now()}
	if p := req.Prepared; p != nil {
		if err := e.checkPrepared(p); err != nil {
			return nil, err
		}
		j.prompt, j.maxTokens = p.Tokens(), p.MaxTokens
		return j, nil
	}
	tokBuf, n, maxTokens, err := e.tokenizeRequest(req)
	if err != nil {
		return nil, err
	}
	j.tokBuf, j.prompt, j.maxTokens = tokBuf, TokensIn(tokBuf.Bytes())[:n], maxTokens
	return j, nil
}

// tokenize writes the request's prompt tokens into dst: raw prompts as
// is, chats through the template into a temporary locked buffer.
func (e *Engine) tokenize(req *Request, dst []Token) (int, error) {
	if req.Messages == nil && len(req.Prompt) == 0 {
		if len(req.Tokens) > len(dst) {
			return 0, errPromptTooLong
		}
		return copy(dst, req.Tokens), nil
	}
	if req.Messages == nil {
		n, err := e.m.Tokenize(req.Prompt, dst, true, false)
		return n, tooMany(err)
	}
	size := 256
	for i := range req.Messages {
		size += len(req.Messages[i].Content) + 64
	}
	for range 2 {
		text, err := e.cfg.Budget.Alloc(size)
		if err != nil {
			return 0, overloaded(err)
		}
		n, err := e.m.applyTemplate(req.Messages, true, text.Bytes(), e.cfg.Budget)
		if errors.Is(err, ErrTemplateTooLong) {
			text.Destroy()
			size = n
			continue
		}
		if err != nil {
			text.Destroy()
			return 0, overloaded(err)
		}
		nt, err := e.m.Tokenize(text.Bytes()[:n], dst, true, true)
		text.Destroy()
		return nt, tooMany(err)
	}
	return 0, ErrTemplateTooLong
}

func tooMany(err error) error {
	if errors.Is(err, ErrTooManyTokens) {
		return errPromptTooLong
	}
	return err
}

// overloaded maps locked-budget exhaustion to ErrOverloaded.
func overloaded(err error) error {
	if errors.Is(err, locked.ErrExhausted) {
		return fmt.Errorf("%w: %w", ErrOverloaded, err)
	}
	return err
}
