package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sottolabs/sotto/internal/testenv"
)

// The official openai npm package (pinned in client/proxy/openaitest,
// installed with npm ci from its lockfile) against `sotto proxy` in front
// of real `sotto serve` processes: the proof that a tool needs no change.

var npmOnce struct {
	sync.Once
	out []byte
	err error
}

// openAIHarness returns the directory of the Node harness with its
// dependencies installed. Without node and npm the test skips, or fails
// in CI.
func openAIHarness(t *testing.T) string {
	t.Helper()
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			if testenv.InCI() {
				t.Fatalf("%s not found (CI needs the Debian packages nodejs and npm)", tool)
			}
			t.Skipf("%s not found: install the Debian packages nodejs and npm", tool)
		}
	}
	dir := filepath.Join(testenv.RepoRoot(t), "client", "proxy", "openaitest")
	npmOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund")
		cmd.Dir = dir
		npmOnce.out, npmOnce.err = cmd.CombinedOutput()
	})
	if npmOnce.err != nil {
		t.Fatalf("npm ci in %s: %v\n%s", dir, npmOnce.err, npmOnce.out)
	}
	return dir
}

// openAIScenario runs one scenario of openai.mjs against the proxy p, with
// the server's metrics at metricsURL, and returns what it printed.
func openAIScenario(t *testing.T, dir, metricsURL string, p *e2eProxy, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "openai.mjs", name)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "SOTTO_PROXY_URL="+p.url, "SOTTO_METRICS_URL="+metricsURL)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || !bytes.Contains(stdout.Bytes(), []byte("ok "+name+"\n")) {
		t.Fatalf("scenario %s: %v\nstdout:\n%s\nstderr:\n%s\nproxy log:\n%s", name, err, stdout.Bytes(), stderr.Bytes(), p.logs.Bytes())
	}
	return stdout.String()
}

// TestProxyOpenAISDK: completions streamed and not, usage, stop
// sequences, an aborted stream that frees the server's slot, bad
// parameters, a second turn that hits the server's prefix cache, a rate
// limit, a wrong API key and a server that is down, each as the SDK sees
// it.
func TestProxyOpenAISDK(t *testing.T) {
	dir := openAIHarness(t)
	s := startServe(t, append(raisedLimits, "SOTTO_PREFIX_CACHE_BYTES=16777216", "SOTTO_SLOTS=1", "SOTTO_CONTEXT=2048")...)
	p := startProxy(t, s)
	for _, name := range []string{"completions", "stop", "abort", "cache", "badparams"} {
		t.Run(name, func(t *testing.T) {
			out := openAIScenario(t, dir, s.url+"/metrics", p, name)
			t.Logf("%s", out)
		})
	}
	t.Run("ratelimited", func(t *testing.T) {
		limited := startServe(t, "RATE_LIMIT_PER_MINUTE=1", "RATE_LIMIT_BURST=1")
		openAIScenario(t, dir, limited.url+"/metrics", startProxy(t, limited), "ratelimited")
	})
	t.Run("auth", func(t *testing.T) {
		t.Setenv("SOTTO_PROXY_API_KEY", "the-users-own-key") // read by the proxy, and by the scenario's client
		openAIScenario(t, dir, s.url+"/metrics", startProxy(t, s), "auth")
	})
	t.Run("down", func(t *testing.T) {
		_ = s.cmd.Process.Signal(os.Interrupt)
		_ = s.cmd.Wait()
		openAIScenario(t, dir, s.url+"/metrics", p, "down")
	})
}

// TestProxyOpenAISDKCluster: the same through a router in front of two
// workers. The scenarios read the sum of the workers' metrics (served
// here, since the workers' /metrics needs the router's client
// certificate): the aborted stream frees its worker's slot, and turn 2
// reaches the worker that holds turn 1's prompt.
func TestProxyOpenAISDKCluster(t *testing.T) {
	dir := openAIHarness(t)
	c := newCluster(t, 2)
	for _, w := range c.workers { // one long-context slot and the cache: restart each worker with them
		w.kill(t)
		// SOTTO_METRICS_BATCH=1: live worker metrics, which the scenarios read.
		w.env = append(w.env, "SOTTO_PREFIX_CACHE_BYTES=16777216", "SOTTO_SLOTS=1", "SOTTO_CONTEXT=2048", "SOTTO_METRICS_BATCH=1")
		w.start(t, "worker")
		w.waitReady(t, c.mtls)
	}
	r := c.startRouter(t)
	p := startProxy(t, c.as(r))
	sum := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		total := map[string]float64{}
		for _, wk := range c.workers {
			resp, err := c.mtls.Get(wk.url + "/metrics") // not get: t.Fatal belongs to the test's goroutine
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			for _, m := range metricLine.FindAllStringSubmatch(string(body), -1) {
				v, _ := strconv.ParseFloat(m[2], 64)
				total[m[1]] += v
			}
		}
		for name, v := range total {
			fmt.Fprintf(w, "%s %g\n", name, v)
		}
	}))
	defer sum.Close()
	for _, name := range []string{"completions", "stop", "abort", "cache", "badparams"} {
		t.Run(name, func(t *testing.T) {
			t.Logf("%s", openAIScenario(t, dir, sum.URL, p, name))
		})
	}
}
