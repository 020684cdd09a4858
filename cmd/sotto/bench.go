package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/sottolabs/sotto/client/load"
	"github.com/sottolabs/sotto/llama"
)

// benchCmd groups the benchmarks; each component adds its subcommand.
var benchCmd = &cobra.Command{
	Use:   "bench",
	Short: "Benchmark Sotto's components (prints one JSON line per run)",
}

type benchEngineFlags struct {
	model                          string
	parallel, promptTokens, gen    int
	threads, requests, batch, seed int
	chunk, words, poll             int
}

var benchEngineOpts benchEngineFlags

var benchEngineCmd = &cobra.Command{
	Use:   "engine --model M [--parallel N --prompt-tokens P --gen-tokens G]",
	Short: "Measure the llama.cpp engine: prefill and generation throughput, TTFT, RSS",
	Long: "Run --requests generations (default --parallel) of --gen-tokens tokens on\n" +
		"synthetic --prompt-tokens token prompts (no user text), --parallel at a time,\n" +
		"and print one JSON line of results. See docs/benchmarks.md for the metrics.",
	Args: cobra.NoArgs,
	RunE: func(cmd *cobra.Command, _ []string) error {
		out, err := benchEngine(cmd.Context(), benchEngineOpts)
		if err != nil {
			return err
		}
		return json.NewEncoder(cmd.OutOrStdout()).Encode(out)
	},
}

func init() {
	f := benchEngineCmd.Flags()
	o := &benchEngineOpts
	f.StringVar(&o.model, "model", "", "GGUF model file (required)")
	f.IntVar(&o.parallel, "parallel", 1, "concurrent streams (engine slots)")
	f.IntVar(&o.promptTokens, "prompt-tokens", 128, "prompt length in tokens")
	f.IntVar(&o.words, "prompt-words", 0, "instead of --prompt-tokens: `sotto bench chat`'s prompts (same words, same seeds, through the chat template)")
	f.IntVar(&o.gen, "gen-tokens", 128, "tokens generated per request")
	f.IntVar(&o.threads, "threads", runtime.NumCPU(), "CPU threads for ggml")
	f.IntVar(&o.requests, "requests", 0, "total requests (0 = --parallel)")
	f.IntVar(&o.batch, "batch", 512, "tokens per decode step")
	f.IntVar(&o.chunk, "prompt-chunk", 0, "most prompt tokens per step (0 = engine default, min(64, --batch))")
	f.IntVar(&o.seed, "seed", 1, "seed of the synthetic prompts")
	f.IntVar(&o.poll, "poll", 0, "ggml threadpool polling level 1..100, -1 = none (0 = engine default)")
	_ = benchEngineCmd.MarkFlagRequired("model")
	benchCmd.AddCommand(benchEngineCmd)
	rootCmd.AddCommand(benchCmd)
}

// benchEngineResult is the JSON line `sotto bench engine` prints.
type benchEngineResult struct {
	Model             string  `json:"model"`
	Parallel          int     `json:"parallel"`
	Requests          int     `json:"requests"`
	PromptTokens      int     `json:"prompt_tokens"`
	GenTokens         int     `json:"gen_tokens"`
	Threads           int     `json:"threads"`
	Batch             int     `json:"batch"`
	PromptChunk       int     `json:"prompt_chunk"`
	PromptTokPerS     float64 `json:"prompt_tokens_per_s"`
	GenTokPerS        float64 `json:"gen_tokens_per_s"`
	GenTokPerSStream  float64 `json:"gen_tokens_per_s_per_stream"`
	TTFTP50Ms         float64 `json:"ttft_ms_p50"`
	TTFTP95Ms         float64 `json:"ttft_ms_p95"`
	WallS             float64 `json:"wall_s"`
	Steps             uint64  `json:"steps"`
	PeakRSSBytes      int64   `json:"peak_rss_bytes"`
	CompletionTokens  int     `json:"completion_tokens"`
	PromptTokensTotal int     `json:"prompt_tokens_total"`
	ModelSizeBytes    int64   `json:"model_size_bytes"`
	ModelParams       int64   `json:"model_params"`
	ContextPerSlot    int     `json:"context_per_slot"`
	LoadAverage1m     float64 `json:"load_average_1m"`
	CPUFeaturesRepack bool    `json:"cpu_repack"`
}

// reqTiming is one request's timeline.
type reqTiming struct {
	start, first, end time.Time
	tokens, prompt    int
}

func (o benchEngineFlags) validate() error {
	if o.requests == 0 {
		o.requests = o.parallel
	}
	checks := []struct {
		name string
		v    int
	}{{"parallel", o.parallel}, {"prompt-tokens", o.promptTokens}, {"gen-tokens", o.gen},
		{"threads", o.threads}, {"requests", o.requests}, {"batch", o.batch}}
	for _, c := range checks {
		if c.v < 1 {
			return fmt.Errorf("bench: --%s must be at least 1", c.name)
		}
	}
	if o.words < 0 {
		return errors.New("bench: --prompt-words must not be negative")
	}
	return nil
}

func benchEngine(ctx context.Context, o benchEngineFlags) (*benchEngineResult, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	if o.requests == 0 {
		o.requests = o.parallel
	}
	if ctx == nil {
		ctx = context.Background()
	}
	llama.SetLogLevel(slog.LevelError)
	m, err := llama.LoadModel(o.model, llama.ModelParams{})
	if err != nil {
		return nil, err
	}
	defer m.Close()
	ctxPerSlot := o.promptLimit() + o.gen
	e, err := llama.NewEngine(m, llama.Config{Slots: o.parallel, ContextPerSlot: ctxPerSlot,
		BatchSize: max(o.batch, o.parallel), PromptChunk: o.chunk, Threads: o.threads, QueueDepth: o.requests, MaxTokensCap: o.gen,
		ThreadPoll: o.poll})
	if err != nil {
		return nil, err
	}
	defer e.Close()
	if got := e.Config().ContextPerSlot; got < ctxPerSlot {
		return nil, fmt.Errorf("bench: prompt + gen tokens (%d) exceed the model's context (%d)", ctxPerSlot, got)
	}
	timings, wall, err := runBenchRequests(ctx, e, o)
	if err != nil {
		return nil, err
	}
	res := summarize(timings, o)
	res.Model = filepath.Base(o.model)
	res.WallS = wall.Seconds()
	res.Steps = e.Stats().Steps
	res.PeakRSSBytes = peakRSS()
	res.ModelSizeBytes, res.ModelParams = m.Info().SizeBytes, m.Info().Params
	res.ContextPerSlot = e.Config().ContextPerSlot
	res.Batch = e.Config().BatchSize
	res.PromptChunk = e.Config().PromptChunk
	res.LoadAverage1m = loadAverage()
	res.CPUFeaturesRepack = strings.Contains(llama.SystemInfo(), "REPACK = 1")
	return res, nil
}

// runBenchRequests runs o.requests generations, o.parallel at a time.
func runBenchRequests(ctx context.Context, e *llama.Engine, o benchEngineFlags) ([]reqTiming, time.Duration, error) {
	reqs := benchEngineRequests(e, o)
	timings := make([]reqTiming, o.requests)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, o.parallel)
	begin := time.Now()
	for w := range o.parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < o.requests; i = int(next.Add(1) - 1) {
				t := &timings[i]
				t.start = time.Now()
				res, err := e.Generate(ctx, reqs[i], func([]byte) error { return nil })
				// The engine's own clock: random-weight models often
				// sample tokens without text, so sink calls lag tokens.
				t.first, t.end = t.start.Add(res.FirstToken), t.start.Add(res.Total)
				t.tokens, t.prompt = res.CompletionTokens, res.PromptTokens
				if err != nil {
					errs[w] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	return timings, time.Since(begin), errors.Join(errs...)
}

// benchEngineRequests builds the requests: synthetic token prompts, or
// with --prompt-words the user message `sotto bench chat` sends for the
// same seed, formatted with the chat template as the server does, so
// that the two benchmarks prefill the same tokens. Greedy, as bench chat.
func benchEngineRequests(e *llama.Engine, o benchEngineFlags) []*llama.Request {
	reqs := make([]*llama.Request, o.requests)
	for i := range reqs {
		r := &llama.Request{MaxTokens: o.gen, IgnoreEOS: true}
		if o.words > 0 {
			text := []byte(syntheticWords(o.words, uint64(o.seed+i)))
			r.Messages = []llama.Message{{Role: llama.RoleUser, Content: text}}
		} else {
			r.Tokens = llama.SyntheticPrompt(e.Model(), o.promptTokens, uint32(o.seed+i))
		}
		reqs[i] = r
	}
	return reqs
}

// promptLimit bounds a prompt's tokens for the slot's context: with
// --prompt-words, a word is at most a few tokens, plus the template.
func (o benchEngineFlags) promptLimit() int {
	if o.words > 0 {
		return 4*o.words + 64
	}
	return o.promptTokens
}

// summarize computes the rates (definitions in docs/benchmarks.md).
func summarize(ts []reqTiming, o benchEngineFlags) *benchEngineResult {
	r := &benchEngineResult{Parallel: o.parallel, Requests: o.requests, PromptTokens: o.promptTokens,
		GenTokens: o.gen, Threads: o.threads}
	ttft := make([]float64, len(ts))
	var genAfterFirst int
	var perStream float64
	firstMin, endMax := ts[0].first, ts[0].end
	wave := min(o.parallel, len(ts))
	var waveFirst time.Time
	for i, t := range ts {
		ttft[i] = float64(t.first.Sub(t.start).Microseconds()) / 1000
		r.CompletionTokens += t.tokens
		r.PromptTokensTotal += t.prompt
		genAfterFirst += max(t.tokens-1, 0)
		if d := t.end.Sub(t.first).Seconds(); d > 0 {
			perStream += float64(max(t.tokens-1, 0)) / d
		}
		if t.first.Before(firstMin) {
			firstMin = t.first
		}
		if t.end.After(endMax) {
			endMax = t.end
		}
		if i < wave && t.first.After(waveFirst) {
			waveFirst = t.first
		}
	}
	begin, wavePrompt := ts[0].start, 0
	for _, t := range ts[:wave] {
		if t.start.Before(begin) {
			begin = t.start
		}
		wavePrompt += t.prompt
	}
	r.PromptTokens = wavePrompt / wave // the mean, for --prompt-words
	r.PromptTokPerS = float64(wavePrompt) / waveFirst.Sub(begin).Seconds()
	r.GenTokPerS = float64(genAfterFirst) / endMax.Sub(firstMin).Seconds()
	r.GenTokPerSStream = perStream / float64(len(ts))
	slices.Sort(ttft)
	r.TTFTP50Ms, r.TTFTP95Ms = percentile(ttft, 50), percentile(ttft, 95)
	return r
}

// percentile is the nearest-rank percentile of sorted xs.
func percentile(xs []float64, p int) float64 { return load.Percentile(xs, p) }

// peakRSS reads VmHWM (peak resident set) from /proc/self/status.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) >= 1 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb * 1024
			}
		}
	}
	return 0
}

// loadAverage reads the 1-minute load average: benchmark numbers on a
// shared machine mean little without it.
func loadAverage() float64 { return load.LoadAverage() }
