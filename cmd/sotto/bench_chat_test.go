package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/sottolabs/sotto/internal/testenv"
)

// raisedLimits lets one device run a benchmark (docs/benchmarks.md).
var raisedLimits = []string{"RATE_LIMIT_PER_MINUTE=100000", "RATE_LIMIT_BURST=10000",
	"IP_RATE_LIMIT_PER_MINUTE=100000", "IP_RATE_LIMIT_BURST=10000", "MAX_STREAMS_PER_DEVICE=64"}

// benchChatRun runs `sotto bench chat` against s and decodes its JSON line;
// it returns the exit error too, since refusals make the command fail.
func (s *e2eServer) benchChatRun(t *testing.T, args ...string) (map[string]any, error) {
	t.Helper()
	all := append([]string{"bench", "chat", "--server", s.url, "--pin", s.pin, "--device-key", s.deviceKey}, args...)
	out, err := exec.Command("sotto", all...).Output()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	var res map[string]any
	if jerr := json.Unmarshal(out, &res); jerr != nil {
		t.Fatalf("output is not one JSON object: %v (exit %v)\nstdout: %q\nserver logs:\n%s", jerr, err, out, s.logs.Bytes())
	}
	return res, err
}

// serverCounter reads one counter from the server's /metrics.
func (s *e2eServer) serverCounter(t *testing.T, name string) float64 {
	t.Helper()
	resp, err := s.http.Get(s.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			return f
		}
	}
	t.Fatalf("/metrics has no %s", name)
	return 0
}

// TestBenchChat: every request succeeds, the token counts the client read
// from the final chunks are exactly those the server counted, and the
// timings are present and ordered.
func TestBenchChat(t *testing.T) {
	s := startServe(t, raisedLimits...)
	const requests, maxTokens = 5, 12
	res, err := s.benchChatRun(t, "--parallel", "3", "--requests", strconv.Itoa(requests),
		"--prompt-words", "8", "--max-tokens", strconv.Itoa(maxTokens), "--warmup", "0")
	if err != nil {
		t.Fatalf("bench chat failed: %v: %v", err, res)
	}
	for _, k := range []string{"suite", "parallel", "requests", "prompt_words", "max_tokens", "requests_ok",
		"requests_failed", "failures", "prompt_tokens", "completion_tokens", "chunks", "ttft_ms_p50",
		"ttft_ms_p95", "e2e_ms_p50", "e2e_ms_p95", "gen_tokens_per_s", "gen_tokens_per_s_decode",
		"gen_tokens_per_s_per_stream", "wall_s", "load_average_1m", "last_token_ms_p50", "last_token_ms_p95",
		"bytes_per_stream"} {
		if _, ok := res[k]; !ok {
			t.Errorf("missing key %q", k)
		}
	}
	num := func(k string) float64 { f, _ := res[k].(float64); return f }
	if num("requests_ok") != requests || num("requests_failed") != 0 || len(res["failures"].(map[string]any)) != 0 {
		t.Fatalf("want %d ok and no failures: %v", requests, res)
	}
	// --warmup 0: the server's counters hold exactly the benchmark's requests.
	completion := num("completion_tokens")
	if got := s.serverCounter(t, "sotto_generated_tokens_total"); completion != got {
		t.Errorf("completion_tokens %v, server generated %v", completion, got)
	}
	if p, got := num("prompt_tokens"), s.serverCounter(t, "sotto_prompt_tokens_total"); p != got || p < requests*8 {
		t.Errorf("prompt_tokens %v, server counted %v (8 words a request at least)", p, got)
	}
	if completion < requests || completion > requests*maxTokens {
		t.Errorf("completion_tokens %v outside [%d, %d]", completion, requests, requests*maxTokens)
	}
	if c := num("chunks"); c < requests || c > completion {
		t.Errorf("chunks %v: want one per request at least, at most one per token (%v)", c, completion)
	}
	if !(0 < num("ttft_ms_p50") && num("ttft_ms_p50") <= num("ttft_ms_p95") && num("ttft_ms_p95") <= num("e2e_ms_p95")) {
		t.Errorf("want 0 < ttft p50 <= ttft p95 <= e2e p95: %v", res)
	}
	for _, k := range []string{"gen_tokens_per_s", "gen_tokens_per_s_decode", "gen_tokens_per_s_per_stream", "wall_s", "bytes_per_stream"} {
		if num(k) <= 0 {
			t.Errorf("%s = %v, want > 0", k, num(k))
		}
	}
	if num("last_token_ms_p95") > num("e2e_ms_p95") {
		t.Errorf("the last text comes after the end: %v", res)
	}
}

// TestBenchChatShaped: against SOTTO_STREAM_SHAPE=constant every reply is
// shaped: each is exactly the nonce event and 16 frames of 371 bytes
// (protocol 5.5): 12 tokens fit the smallest bucket.
func TestBenchChatShaped(t *testing.T) {
	s := startServe(t, append(raisedLimits, "SOTTO_STREAM_SHAPE=constant", "SOTTO_STREAM_FRAME_MS=20")...)
	res, err := s.benchChatRun(t, "--parallel", "2", "--requests", "2", "--prompt-words", "8", "--max-tokens", "12", "--warmup", "0")
	if err != nil {
		t.Fatalf("bench chat failed: %v: %v", err, res)
	}
	const want = len("event: nonce-shaped\ndata: \n\n") + 43 + 16*371
	if res["bytes_per_stream"] != float64(want) {
		t.Fatalf("bytes per stream %v, want %d", res["bytes_per_stream"], want)
	}
}

// TestBenchChatRefusals: with the default-style per-device rate limit the
// benchmark is refused, and it says so by problem name and exit status.
func TestBenchChatRefusals(t *testing.T) {
	// A burst of 2: the warm-up request and one timed request pass.
	s := startServe(t, "RATE_LIMIT_PER_MINUTE=1", "RATE_LIMIT_BURST=2")
	res, err := s.benchChatRun(t, "--requests", "3", "--prompt-words", "4", "--max-tokens", "4")
	if err == nil {
		t.Fatal("bench chat succeeded although requests were refused")
	}
	f, _ := res["failures"].(map[string]any)
	if res["requests_ok"] != 1.0 || res["requests_failed"] != 2.0 || f["rate-limited"] != 2.0 || len(f) != 1 {
		t.Fatalf("want 1 ok and 2 rate-limited: %v", res)
	}
}

// TestSyntheticWords: prompts are deterministic per seed and differ
// between seeds, like the engine benchmark's token prompts.
func TestSyntheticWords(t *testing.T) {
	a, b := syntheticWords(12, 7), syntheticWords(12, 8)
	if a != syntheticWords(12, 7) || a == b || len(strings.Fields(a)) != 12 {
		t.Fatalf("syntheticWords(12, 7) = %q, (12, 8) = %q", a, b)
	}
}

// TestBenchEngineSamePrompts: with --prompt-words, `sotto bench engine`
// prefills exactly the prompt tokens `sotto bench chat` makes the server
// prefill for the same words, seeds and requests, so the two compare.
func TestBenchEngineSamePrompts(t *testing.T) {
	s := startServe(t, raisedLimits...)
	const words, requests = "9", "4"
	chat, err := s.benchChatRun(t, "--parallel", "2", "--requests", requests, "--prompt-words", words,
		"--max-tokens", "4", "--warmup", "0")
	if err != nil {
		t.Fatalf("bench chat failed: %v: %v", err, chat)
	}
	out, err := exec.Command("sotto", "bench", "engine", "--model", testenv.Model(t, "stories260K.gguf"),
		"--parallel", "2", "--requests", requests, "--prompt-words", words, "--gen-tokens", "4", "--threads", "1").Output()
	if err != nil {
		t.Fatal(err)
	}
	var engine map[string]any
	if err := json.Unmarshal(out, &engine); err != nil {
		t.Fatalf("bench engine output: %v: %q", err, out)
	}
	if c, e := chat["prompt_tokens"].(float64), engine["prompt_tokens_total"].(float64); c != e || c < 4*9 {
		t.Errorf("prompt tokens: bench chat %v, bench engine %v; want equal, at least 36", c, e)
	}
}
