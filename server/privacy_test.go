//go:build cgo

// These tests drive the real llama.cpp engine (cgo).

package server_test

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/sottolabs/sotto/crypto"
	"github.com/sottolabs/sotto/internal/testenv"
	"github.com/sottolabs/sotto/server/problem"
)

// scrape returns /metrics as text and as series -> value.
func (h *harness) scrape(t *testing.T) ([]byte, map[string]float64) {
	t.Helper()
	resp, err := http.Get(h.url("/metrics"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d %v", resp.StatusCode, err)
	}
	series := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		series[line[:i]] = v
	}
	return body, series
}

// TestMetrics: after known traffic the counters hold exact values, the
// documented names exist, no canary or header value appears, and the
// exposition passes promtool.
func TestMetrics(t *testing.T) {
	h := newHarness(t, config{})
	c := h.client(h.devices[0], crypto.SuiteX25519)
	var prompts, completions int
	for i := range 2 {
		r := c.chat(prompt(i), 12)
		h.wantReply(t, r, prompt(i), 12)
		prompts += r.final.PromptTokens
		completions += r.final.CompletionTokens
	}
	bad := c.seal(chatJSON(prompt(0), 4))
	bad.body[0] = 7
	wantProblem(t, c.send(bad), 400, problem.Envelope)
	noDevice := c.seal(chatJSON(prompt(0), 4))
	noDevice.header.Del("Sotto-Device")
	wantProblem(t, c.send(noDevice), 401, problem.Device)
	replayed := c.seal(chatJSON(prompt(2), 4))
	h.wantReply(t, c.send(replayed), prompt(2), 4)
	wantProblem(t, c.send(replayed), 400, problem.Replay)
	prompts += h.expected(prompt(2), 4).res.PromptTokens
	completions += 4

	body, m := h.scrape(t)
	want := map[string]float64{
		`sotto_requests_total{code="2xx",problem="none"}`:       3,
		`sotto_requests_total{code="4xx",problem="envelope"}`:   1,
		`sotto_requests_total{code="4xx",problem="device"}`:     1,
		`sotto_requests_total{code="4xx",problem="replay"}`:     1,
		`sotto_requests_total{code="5xx",problem="overloaded"}`: 0,
		`sotto_rate_limited_total{scope="ip"}`:                  0,
		`sotto_replay_rejected_total`:                           1,
		`sotto_generated_tokens_total`:                          float64(completions),
		`sotto_prompt_tokens_total`:                             float64(prompts),
		`sotto_pow_challenges_total`:                            0,
		`sotto_active_streams`:                                  0,
		`sotto_busy_slots`:                                      0,
		`sotto_slots`:                                           4,
		`sotto_request_duration_seconds_count`:                  3,
		`sotto_time_to_first_token_seconds_count`:               3,
	}
	for k, v := range want {
		if got, ok := m[k]; !ok || got != v {
			t.Errorf("%s = %v (present %v), want %v", k, got, ok, v)
		}
	}
	for _, name := range []string{"sotto_inter_token_latency_seconds_count", "sotto_queue_wait_seconds_count",
		"sotto_queued_requests", "sotto_kv_cells_used", "sotto_kv_cells_capacity", "sotto_locked_bytes_in_use", "sotto_locked_bytes_limit"} {
		if _, ok := m[name]; !ok {
			t.Errorf("metric %s missing", name)
		}
	}
	if m["sotto_locked_bytes_in_use"] <= 0 {
		t.Errorf("locked bytes in use %v: the keys alone hold locked memory", m["sotto_locked_bytes_in_use"])
	}
	if bytes.Contains(body, []byte(canary)) || bytes.Contains(body, []byte(c.dev.header[len("ed25519:"):])) {
		t.Error("metrics contain the canary or the device key")
	}
	promtool(t, body)
}

// promtool lints the exposition when promtool is installed (it must be in
// CI, where .ci/run installs Debian's prometheus package).
func promtool(t *testing.T, exposition []byte) {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		if testenv.InCI() {
			t.Fatal("promtool not on PATH in CI")
		}
		t.Log("promtool not on PATH (apt-get install prometheus): metrics lint skipped")
		return
	}
	cmd := exec.Command(path, "check", "metrics")
	cmd.Stdin = bytes.NewReader(exposition)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

// TestLogPrivacy: at debug level, after chats (both suites), refusals and
// a cancelled stream, the log holds neither the canary, nor any reply
// text, nor any header value the clients sent.
func TestLogPrivacy(t *testing.T) {
	h := newHarness(t, config{devices: 2})
	var replies []string
	for i, suite := range []crypto.Suite{crypto.SuiteX25519, crypto.SuiteXWing} {
		c := h.client(h.devices[i], suite)
		r := c.chat(prompt(i), 40)
		h.wantReply(t, r, prompt(i), 40)
		replies = append(replies, r.text)
		wantProblem(t, c.send(c.seal([]byte(`{"messages":[{"role":"`+canary+`","content":"x"}]}`))), 400, problem.Request)
		s := c.seal(chatJSON(prompt(i), 4))
		s.header.Set("Sotto-Signature", "AAAA"+canary)
		wantProblem(t, c.send(s), 401, problem.Device)
	}
	logs := h.logs.String()
	if n := len(chatLogLines(t, logs)); n != 2 {
		t.Fatalf("%d chat log lines, want 2: logging did not happen", n)
	}
	if strings.Contains(logs, canary) {
		t.Error("log contains the canary")
	}
	for _, r := range replies {
		// Any 12-byte window of a reply would be a leak.
		for i := 0; i+12 <= len(r); i++ {
			if strings.Contains(logs, r[i:i+12]) {
				t.Fatalf("log contains reply text %q", r[i:i+12])
			}
		}
	}
	for _, d := range h.devices {
		if strings.Contains(logs, d.header[len("ed25519:"):]) {
			t.Error("log contains a device key")
		}
	}
	// checkLogPrivacy (at cleanup) also scans for every signature sent.
}
