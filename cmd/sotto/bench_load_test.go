package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// benchLoadRun runs `sotto bench load` against s and decodes its report.
func (s *e2eServer) benchLoadRun(t *testing.T, args ...string) map[string]any {
	t.Helper()
	all := append([]string{"bench", "load", "--server", s.url, "--pin", s.pin, "--device-key", s.deviceKey}, args...)
	cmd := exec.Command("sotto", all...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("bench load: %v\nstdout: %s\nstderr: %s\nserver logs:\n%s", err, out, stderr.String(), s.logs.Bytes())
	}
	var rep map[string]any
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("report is not JSON: %v: %q", err, out)
	}
	return rep
}

// TestBenchLoad runs a closed loop and an open multi-turn loop with the
// conversation cache against a real `sotto serve`: every request is a
// verified reply, the completion tokens the client read from the final
// chunks are exactly those the server generated, turn 2 of a cached
// conversation reuses its prefix, and the CSV carries the same counts.
func TestBenchLoad(t *testing.T) {
	s := startServe(t, append(raisedLimits, "SOTTO_PREFIX_CACHE_BYTES=8388608")...)
	csvPath := filepath.Join(t.TempDir(), "closed.csv")
	closed := s.benchLoadRun(t, "--concurrency", "2", "--requests", "4", "--prompt-words", "6-12",
		"--max-tokens", "8", "--csv", csvPath)
	open := s.benchLoadRun(t, "--rate", "20", "--requests", "2", "--turns", "2", "--cache",
		"--prompt-words", "40", "--max-tokens", "4", "--seed", "9")
	sum := func(rep map[string]any) map[string]any { return rep["summary"].(map[string]any) }
	c, o := sum(closed), sum(open)
	if c["requests"] != 4.0 || c["ok"] != 4.0 || o["requests"] != 4.0 || o["ok"] != 4.0 {
		t.Fatalf("want every request ok: closed %v, open %v", c, o)
	}
	if closed["mode"] != "closed" || open["mode"] != "open" || open["turns"] != 2.0 || open["cache"] != true {
		t.Fatalf("settings: %v / %v", closed, open)
	}
	generated := s.serverCounter(t, "sotto_generated_tokens_total")
	if got := c["completion_tokens"].(float64) + o["completion_tokens"].(float64); got != generated {
		t.Errorf("completion tokens read %v, server generated %v", got, generated)
	}
	if reused := s.serverCounter(t, "sotto_prompt_tokens_cached_total"); reused < 2*40 {
		t.Errorf("turn 2 reused %v prompt tokens, want at least the 2 x 40 words of turn 1", reused)
	}
	ttft := c["ttft_ms"].(map[string]any)
	if !(ttft["p50"].(float64) > 0 && ttft["p50"].(float64) <= ttft["p95"].(float64)) || c["client_cpu_s"].(float64) <= 0 {
		t.Errorf("timings: %v", c)
	}
	f, err := os.Open(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil || len(rows) != 2 || rows[0][0] != "step" || rows[1][0] != "all" || rows[1][3] != "4" {
		t.Fatalf("CSV %v: %q", err, rows)
	}
}

// TestBenchLoadProxy: the OpenAI driver through `sotto proxy` (which
// seals every request for the server): every request a complete reply,
// and the usage the proxy reports is what the server generated.
func TestBenchLoadProxy(t *testing.T) {
	s := startServe(t, raisedLimits...)
	p := startProxy(t, s)
	out, err := exec.Command("sotto", "bench", "load", "--openai", strings.TrimSuffix(p.url, "/v1"),
		"--concurrency", "2", "--requests", "4", "--max-tokens", "8", "--no-progress").Output()
	if err != nil {
		t.Fatalf("bench load: %v: %s\nproxy logs:\n%s", err, out, p.logs.Bytes())
	}
	var rep struct{ Summary map[string]any }
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatal(err)
	}
	sm := rep.Summary
	if sm["ok"] != 4.0 || sm["requests"] != 4.0 {
		t.Fatalf("want 4 complete replies: %v", sm)
	}
	if got, gen := sm["completion_tokens"].(float64), s.serverCounter(t, "sotto_generated_tokens_total"); got != gen || got < 4 {
		t.Errorf("completion tokens %v, server generated %v", got, gen)
	}
}
