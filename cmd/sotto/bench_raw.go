package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/sottolabs/sotto/llama"
)

type benchRawFlags struct {
	model                              string
	threads, promptTokens, gen, repeat int
}

var benchRawOpts benchRawFlags

var benchRawCmd = &cobra.Command{
	Use:   "raw --model M [--threads T --prompt-tokens P --gen-tokens G --repeat R]",
	Short: "Measure llama.cpp alone (llama-bench tg equivalent): the engine's baseline",
	Long: "Decode a synthetic --prompt-tokens prompt, then --gen-tokens one-token decodes\n" +
		"of fixed tokens (no sampling), in a C loop on a context set up like the engine's,\n" +
		"as llama-bench's tg test does. Prints one JSON line per repeat. Compare its\n" +
		"gen_tokens_per_s with `bench engine --parallel 1` (docs/benchmarks.md).",
	Args: cobra.NoArgs,
	RunE: func(cmd *cobra.Command, _ []string) error {
		return benchRaw(cmd, benchRawOpts)
	},
}

func init() {
	f := benchRawCmd.Flags()
	o := &benchRawOpts
	f.StringVar(&o.model, "model", "", "GGUF model file (required)")
	f.IntVar(&o.threads, "threads", runtime.NumCPU(), "CPU threads for ggml")
	f.IntVar(&o.promptTokens, "prompt-tokens", 32, "prompt length in tokens (0: generate from BOS, as llama-bench tg)")
	f.IntVar(&o.gen, "gen-tokens", 128, "one-token decodes timed")
	f.IntVar(&o.repeat, "repeat", 1, "runs, each on a fresh context (the model is loaded once)")
	_ = benchRawCmd.MarkFlagRequired("model")
	benchCmd.AddCommand(benchRawCmd)
}

// benchRawResult is one JSON line of `sotto bench raw`.
type benchRawResult struct {
	Model         string  `json:"model"`
	Run           int     `json:"run"`
	Threads       int     `json:"threads"`
	PromptTokens  int     `json:"prompt_tokens"`
	GenTokens     int     `json:"gen_tokens"`
	PromptTokPerS float64 `json:"prompt_tokens_per_s"`
	GenTokPerS    float64 `json:"gen_tokens_per_s"`
	GenMsPerToken float64 `json:"gen_ms_per_token"`
	LoadAverage1m float64 `json:"load_average_1m"`
}

func benchRaw(cmd *cobra.Command, o benchRawFlags) error {
	if o.repeat < 1 {
		return fmt.Errorf("bench: --repeat must be at least 1")
	}
	llama.SetLogLevel(slog.LevelError)
	m, err := llama.LoadModel(o.model, llama.ModelParams{})
	if err != nil {
		return err
	}
	defer m.Close()
	enc := json.NewEncoder(cmd.OutOrStdout())
	for run := 1; run <= o.repeat; run++ {
		r, err := llama.RawDecodeBench(m, o.threads, o.promptTokens, o.gen)
		if err != nil {
			return err
		}
		// One line per run as it ends, so a long series shows progress.
		err = enc.Encode(benchRawResult{Model: filepath.Base(o.model), Run: run, Threads: r.Threads,
			PromptTokens: r.PromptTokens, GenTokens: r.GenTokens, PromptTokPerS: r.PromptTokPerS,
			GenTokPerS: r.GenTokPerS, GenMsPerToken: r.Gen.Seconds() * 1000 / float64(r.GenTokens),
			LoadAverage1m: loadAverage()})
		if err != nil {
			return err
		}
	}
	return nil
}
