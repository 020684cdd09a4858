package main

import (
	"bufio"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sottolabs/sotto/internal/testenv"
)

// interruptMaxTokens is long enough that the reply is still being written
// when the test's Ctrl-C arrives, right after the first text.
const interruptMaxTokens = 1900

// TestE2EChatCtrlC: in an interactive `sotto chat`, Ctrl-C during a reply
// stops it (the client closes the stream, and the server frees the slot
// and generates no more: its counters stay far below max tokens), the
// session goes on, and a Ctrl-C at the prompt quits cleanly.
func TestE2EChatCtrlC(t *testing.T) {
	s := startServe(t, "SOTTO_SLOTS=1", "SOTTO_CONTEXT=2048")
	cmd := exec.Command("sotto", "chat", "--server", s.url, "--pin", s.pin, "--device-key", s.deviceKey,
		"--temperature", "0", "--max-tokens", strconv.Itoa(interruptMaxTokens))
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+s.dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &testenv.SyncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	out := bufio.NewReader(stdout)

	io.WriteString(stdin, "Once upon a time\n")
	if _, err := out.ReadByte(); err != nil { // the reply has begun
		t.Fatalf("no reply: %v; stderr %s", err, stderr.Bytes())
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if _, err := out.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "[stopped]", func() bool { return strings.Contains(stderr.String(), "[stopped]\n") })
	waitFor(t, "the slot freed", func() bool {
		m := scrapeMetrics(t, s)
		return m["sotto_busy_slots"] == 0 && m["sotto_active_streams"] == 0
	})
	if n := scrapeMetrics(t, s)["sotto_generated_tokens_total"]; n >= interruptMaxTokens/2 {
		t.Fatalf("the server generated %v tokens: the stop did not reach it", n)
	}
	if strings.Contains(stderr.String(), " tokens/s]") {
		t.Fatalf("numbers printed for a stopped reply: %q", stderr.String())
	}
	// The session goes on; a Ctrl-C at the prompt quits with status 0.
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, _ = io.Copy(io.Discard, out); done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("chat exited with %v; stderr %q", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("chat did not quit on the second Ctrl-C; stderr %q", stderr.String())
	}
}

// waitFor polls cond for up to 30 s (a deadline, not a timing assertion).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

var metricLine = regexp.MustCompile(`(?m)^(sotto_[a-z_]+) ([0-9.e+-]+)$`)

// scrapeMetrics reads the unlabelled sotto_* samples of /metrics.
func scrapeMetrics(t *testing.T, s *e2eServer) map[string]float64 {
	t.Helper()
	resp, err := s.http.Get(s.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d %v", resp.StatusCode, err)
	}
	m := map[string]float64{}
	for _, g := range metricLine.FindAllStringSubmatch(string(body), -1) {
		v, _ := strconv.ParseFloat(g[2], 64)
		m[g[1]] = v
	}
	return m
}
