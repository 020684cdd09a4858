package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/sottolabs/sotto/client/load"
)

// benchLoadFlags: bench chat's connection flags, and the run's shape.
type benchLoadFlags struct {
	conn                                benchChatFlags
	openai, model                       string
	concurrency, count, maxInFlight     int
	turns                               int
	rate                                float64
	ramp, promptWords, turnWords, maxTk string
	duration, reqTimeout                time.Duration
	sloTTFT, sloInter                   time.Duration
	cache, allowPublic, noProgress      bool
	jsonOut, csvOut                     string
}

var benchLoadOpts benchLoadFlags

var benchLoadCmd = &cobra.Command{
	Use:   "load (--server URL --pin KEY | --openai URL) (--concurrency N | --rate R | --ramp R@D,...) [--requests N] [--duration D]",
	Short: "Load a server: open or closed loop, latency percentiles, goodput under an SLO",
	Long: "Drive a server with synthetic chat conversations through the real client (every\n" +
		"request sealed, signed, streamed, opened and verified), or with --openai through plain\n" +
		"OpenAI Server-Sent Events (llama-server, sotto proxy). A closed loop keeps\n" +
		"--concurrency conversations in flight; an open loop starts them at Poisson arrivals of\n" +
		"--rate per second, or of each rate of --ramp in turn. --requests and --duration bound\n" +
		"the run. Prints one JSON report (--json FILE to write it elsewhere, --csv FILE for a\n" +
		"table): requests/s, refusals and errors by name, TTFT, inter-token and end-to-end\n" +
		"p50/p95/p99, tokens/s, goodput under the SLO, the client's CPU. Only loopback and\n" +
		"private addresses unless --allow-public. Exits 1 when requests failed (refusals are\n" +
		"results, not failures). See docs/benchmarks.md.",
	Args: cobra.NoArgs,
	RunE: func(cmd *cobra.Command, _ []string) error {
		ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return benchLoad(ctx, benchLoadOpts, cmd.OutOrStdout(), cmd.ErrOrStderr())
	},
}

func init() {
	f := benchLoadCmd.Flags()
	o := &benchLoadOpts
	f.StringVar(&o.conn.server, "server", "", "Sotto server base URL")
	f.StringVar(&o.conn.pin, "pin", "", "pinned signing public key, ed25519:<base64url> (with --server)")
	f.StringVar(&o.conn.deviceKey, "device-key", "", "enrolled device key file (default $XDG_CONFIG_HOME/sotto/device.key)")
	f.StringVar(&o.conn.caFile, "ca-file", "", "PEM certificates to trust for an https server")
	f.StringVar(&o.conn.clientCert, "client-cert", "", "PEM client certificate for a mutual-TLS server (a worker)")
	f.StringVar(&o.conn.clientKey, "client-key", "", "the private key of --client-cert (PEM)")
	f.StringVar(&o.conn.suite, "suite", "x25519", "HPKE suite: x25519 or xwing")
	f.StringVar(&o.openai, "openai", "", "instead of --server: an OpenAI-compatible base URL (llama-server, sotto proxy)")
	f.StringVar(&o.model, "model", "sotto", "the model member of --openai requests")
	f.IntVar(&o.concurrency, "concurrency", 0, "closed loop: conversations in flight")
	f.Float64Var(&o.rate, "rate", 0, "open loop: Poisson arrivals of conversations per second")
	f.StringVar(&o.ramp, "ramp", "", "open loop: rates in turn, RATE@DURATION,... (e.g. 0.5@60s,1@60s)")
	f.IntVar(&o.count, "requests", 0, "conversations to start (0: until --duration)")
	f.DurationVar(&o.duration, "duration", 0, "stop starting conversations after this (0: until --requests)")
	f.StringVar(&o.promptWords, "prompt-words", "16", "words of each first message: N or A-B (uniform)")
	f.StringVar(&o.maxTk, "max-tokens", "64", "max_tokens of each request: N or A-B (uniform)")
	f.IntVar(&o.turns, "turns", 1, "turns of each conversation (each later turn carries the history)")
	f.StringVar(&o.turnWords, "turn-words", "6", "words each later turn adds: N or A-B")
	f.BoolVar(&o.cache, "cache", false, "keep each conversation's prompt on the server between turns (conversation cache; cache_prompt with --openai)")
	f.DurationVar(&o.sloTTFT, "slo-ttft", load.DefaultSLO.TTFT, "SLO: time to first token")
	f.DurationVar(&o.sloInter, "slo-inter-token-p95", load.DefaultSLO.InterP95, "SLO: a request's 95th percentile gap between chunks")
	f.DurationVar(&o.reqTimeout, "request-timeout", load.DefaultRequestTimeout, "bound on each request")
	f.IntVar(&o.maxInFlight, "max-in-flight", load.DefaultMaxInFlight, "open loop: arrivals over this many outstanding are counted as client-saturated")
	f.Uint64Var(&o.conn.seed, "seed", 1, "seed of the arrivals and the synthetic prompts")
	f.BoolVar(&o.allowPublic, "allow-public", false, "allow a target outside loopback and private addresses (a server you run)")
	f.BoolVar(&o.noProgress, "no-progress", false, "no progress bar (it is drawn only on a terminal anyway)")
	f.StringVar(&o.jsonOut, "json", "-", "write the JSON report to this file (- for stdout)")
	f.StringVar(&o.csvOut, "csv", "", "also write a CSV table (one row per ramp step, then all) to this file")
	benchCmd.AddCommand(benchLoadCmd)
}

func benchLoad(ctx context.Context, o benchLoadFlags, stdout, stderr io.Writer) error {
	cfg, closeTarget, err := o.config(ctx)
	if err != nil {
		return err
	}
	defer closeTarget()
	if f, ok := stderr.(*os.File); ok && !o.noProgress && term.IsTerminal(int(f.Fd())) {
		cfg.Progress = stderr
	}
	rep, err := load.Run(ctx, cfg)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	if err := writeReport(o.jsonOut, stdout, rep.WriteJSON); err != nil {
		return err
	}
	if o.csvOut != "" {
		if err := writeReport(o.csvOut, stdout, rep.WriteCSV); err != nil {
			return err
		}
	}
	if rep.Summary.Failed > 0 {
		return fmt.Errorf("bench: %d of %d requests failed (see errors)", rep.Summary.Failed, rep.Summary.Requests)
	}
	return nil
}

// writeReport writes through write to path, or to stdout for "-".
func writeReport(path string, stdout io.Writer, write func(io.Writer) error) error {
	if path == "-" {
		return write(stdout)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("bench: %w", err)
	}
	return f.Close()
}

// config turns the flags into a load.Config and its target; the returned
// function releases the target (the device key in locked memory).
func (o benchLoadFlags) config(ctx context.Context) (load.Config, func(), error) {
	cfg := load.Config{Concurrency: o.concurrency, Rate: o.rate, Count: o.count, Duration: o.duration,
		SLO: load.SLO{TTFT: o.sloTTFT, InterP95: o.sloInter}, Seed: o.conn.seed,
		RequestTimeout: o.reqTimeout, MaxInFlight: o.maxInFlight}
	var err error
	if o.ramp != "" {
		if cfg.Ramp, err = load.ParseRamp(o.ramp); err != nil {
			return cfg, nil, fmt.Errorf("bench: --ramp: %w", err)
		}
	}
	if cfg.Workload, err = o.workload(); err != nil {
		return cfg, nil, err
	}
	target := o.conn.server
	if (target == "") == (o.openai == "") {
		return cfg, nil, errors.New("bench: give exactly one of --server and --openai")
	}
	if o.openai != "" {
		target = o.openai
	}
	if err := load.CheckTarget(ctx, target, o.allowPublic); err != nil {
		return cfg, nil, fmt.Errorf("bench: %w", err)
	}
	// The idle pool holds a connection per conversation in flight.
	o.conn.parallel = max(o.concurrency, min(o.maxInFlight, 256))
	if o.openai != "" {
		hc, err := benchHTTPClient(o.conn.caFile, o.conn.parallel)
		if err != nil {
			return cfg, nil, err
		}
		cfg.Target = load.OpenAI{BaseURL: o.openai, Model: o.model, HTTP: hc}
		return cfg, func() {}, nil
	}
	if o.conn.pin == "" {
		return cfg, nil, errors.New("bench: --server needs --pin")
	}
	c, closeKey, err := newBenchClient(o.conn)
	if err != nil {
		return cfg, nil, err
	}
	cfg.Target = load.Sotto{Client: c}
	return cfg, closeKey, nil
}

func (o benchLoadFlags) workload() (load.Workload, error) {
	w := load.Workload{Turns: o.turns, Cache: o.cache}
	var err error
	for _, d := range []struct {
		flag, v string
		to      *load.Dist
	}{{"prompt-words", o.promptWords, &w.PromptWords}, {"turn-words", o.turnWords, &w.TurnWords}, {"max-tokens", o.maxTk, &w.MaxTokens}} {
		if *d.to, err = load.ParseDist(d.v); err != nil {
			return w, fmt.Errorf("bench: --%s: %w", d.flag, err)
		}
	}
	if o.turns < 1 {
		return w, errors.New("bench: --turns must be at least 1")
	}
	return w, nil
}
