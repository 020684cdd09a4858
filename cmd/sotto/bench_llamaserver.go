package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/sottolabs/sotto/client"
	"github.com/sottolabs/sotto/crypto"
)

// benchLlamaServerOpts reuses bench chat's flags that apply to a plain
// llama.cpp server: no key, device or suite.
var benchLlamaServerOpts benchChatFlags

var benchLlamaServerCmd = &cobra.Command{
	Use:   "llama-server --server URL [--parallel N --requests R]",
	Short: "Measure llama.cpp's llama-server with bench chat's prompts and definitions (the baseline)",
	Long: "Send bench chat's requests (the same synthetic --prompt-words prompts for the same\n" +
		"--seed, greedy, --max-tokens tokens, end of generation ignored) to llama-server's\n" +
		"native streaming /completion endpoint over plain HTTP, and print the same JSON\n" +
		"line as bench chat, so the two can be compared row by row. The prompt is the\n" +
		"words as raw text, which is what sotto serve formats for a model without a chat\n" +
		"template (the synthesized models of docs/benchmarks.md). See docs/benchmarks.md.",
	Args: cobra.NoArgs,
	RunE: func(cmd *cobra.Command, _ []string) error {
		return runChatBench(cmd, func(ctx context.Context) (*benchChatResult, error) {
			return benchLlamaServer(ctx, benchLlamaServerOpts)
		})
	},
}

func init() {
	f := benchLlamaServerCmd.Flags()
	o := &benchLlamaServerOpts
	f.StringVar(&o.server, "server", "", "llama-server base URL, http://host:port (required)")
	f.IntVar(&o.parallel, "parallel", 1, "requests in flight at once")
	f.IntVar(&o.requests, "requests", 0, "total requests (0 = --parallel)")
	f.IntVar(&o.words, "prompt-words", 16, "words in each synthetic prompt")
	f.IntVar(&o.maxTokens, "max-tokens", 128, "tokens to generate (n_predict)")
	f.IntVar(&o.warmup, "warmup", 1, "untimed requests (1 token) before the run")
	f.Uint64Var(&o.seed, "seed", 1, "seed of the synthetic prompts (request i uses seed+i)")
	f.DurationVar(&o.timeout, "timeout", 10*time.Minute, "bound on the whole run")
	_ = benchLlamaServerCmd.MarkFlagRequired("server")
	benchCmd.AddCommand(benchLlamaServerCmd)
}

func benchLlamaServer(ctx context.Context, o benchChatFlags) (*benchChatResult, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	hc, err := benchHTTPClient("", o.parallel)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	url := strings.TrimSuffix(o.server, "/") + "/completion"
	for i := range o.warmup {
		if t := timeCompletion(ctx, hc, url, o.words, 1, o.seed+uint64(o.requests+i)); t.failure != "" {
			return nil, fmt.Errorf("bench: warm-up request failed: %s", t.failure)
		}
	}
	timings := make([]chatTiming, o.requests)
	var next atomic.Int64
	var wg sync.WaitGroup
	begin := time.Now()
	for range o.parallel {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < o.requests; i = int(next.Add(1) - 1) {
				timings[i] = timeCompletion(ctx, hc, url, o.words, o.maxTokens, o.seed+uint64(i))
			}
		})
	}
	wg.Wait()
	res := summarizeChat(timings, time.Since(begin))
	res.Suite, res.Parallel, res.Requests = "none", o.parallel, o.requests
	res.PromptWords, res.MaxTokens = o.words, o.maxTokens
	res.LoadAverage1m = loadAverage()
	return res, nil
}

// completionRequest is llama-server's native /completion request:
// greedy, a fixed token count, no prompt cache reuse between requests.
type completionRequest struct {
	Prompt      string  `json:"prompt"`
	NPredict    int     `json:"n_predict"`
	Temperature float64 `json:"temperature"`
	Seed        uint64  `json:"seed"`
	Stream      bool    `json:"stream"`
	IgnoreEOS   bool    `json:"ignore_eos"`
	CachePrompt bool    `json:"cache_prompt"`
}

// completionEvent is one streamed event; the last has Stop and the counts.
type completionEvent struct {
	Content         string `json:"content"`
	Stop            bool   `json:"stop"`
	TokensPredicted int    `json:"tokens_predicted"`
	TokensEvaluated int    `json:"tokens_evaluated"`
}

// timeCompletion sends one request and records its timeline as client/load
// does: the first event with text is the first token the client can show.
func timeCompletion(ctx context.Context, hc *http.Client, url string, words, maxTokens int, seed uint64) chatTiming {
	t := chatTiming{start: time.Now()}
	body, _ := json.Marshal(completionRequest{Prompt: syntheticWords(words, seed), NPredict: maxTokens,
		Seed: seed, Stream: true, IgnoreEOS: true})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.failure = "request"
		return t
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		t.failure = "transport"
		return t
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.failure = fmt.Sprintf("http-%d", resp.StatusCode)
		return t
	}
	if err := readCompletionStream(resp, &t); err != nil {
		t.failure = "stream"
	}
	t.end = time.Now()
	return t
}

// readCompletionStream reads the SSE events until the one with "stop".
func readCompletionStream(resp *http.Response, t *chatTiming) error {
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		data, ok := bytes.CutPrefix(sc.Bytes(), []byte("data: "))
		if !ok {
			continue
		}
		var ev completionEvent
		if err := json.Unmarshal(data, &ev); err != nil {
			return err
		}
		if ev.Content != "" {
			if t.first.IsZero() {
				t.first = time.Now()
			}
			t.chunks++
		}
		if ev.Stop {
			t.res = client.Result{FinishReason: crypto.FinishLength, PromptTokens: ev.TokensEvaluated,
				CompletionTokens: ev.TokensPredicted}
			return nil
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return errors.New("bench: stream ended without its last event")
}
