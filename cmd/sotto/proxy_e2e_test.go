package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sottolabs/sotto/internal/testenv"
)

// e2eProxy is a running `sotto proxy` in front of a server.
type e2eProxy struct {
	url  string // base URL of the OpenAI API, ending in /v1
	cmd  *exec.Cmd
	logs *testenv.SyncBuffer
	done chan struct{} // closed when the process has exited; then err is its status
	err  error
}

var proxyListening = regexp.MustCompile(`listening on (http://127\.0\.0\.1:[0-9]+/v1)`)

// startProxy starts `sotto proxy` on an ephemeral loopback port, logging
// at debug level, with settings from the environment (as a user's unit
// would) and args, and waits until it listens.
func startProxy(t *testing.T, s *e2eServer, args ...string) *e2eProxy {
	t.Helper()
	p := &e2eProxy{logs: &testenv.SyncBuffer{}, done: make(chan struct{})}
	all := append([]string{"proxy", "--listen", "127.0.0.1:0", "--log-level", "debug"}, args...)
	p.cmd = exec.Command("sotto", all...)
	p.cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+s.dir,
		"SOTTO_PROXY_SERVER="+s.url, "SOTTO_PROXY_PIN="+s.pin, "SOTTO_PROXY_DEVICE_KEY="+s.deviceKey)
	p.cmd.Stderr = p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		if p.stop(10*time.Second) != nil {
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	waitFor(t, "sotto proxy to listen", func() bool { return proxyListening.Match(p.logs.Bytes()) || p.exited() })
	m := proxyListening.FindSubmatch(p.logs.Bytes())
	if m == nil {
		t.Fatalf("sotto proxy did not start:\n%s", p.logs.Bytes())
	}
	p.url = string(m[1])
	return p
}

func (p *e2eProxy) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGINT and waits up to d for the exit; it returns the exit
// error, or errStillRunning.
func (p *e2eProxy) stop(d time.Duration) error {
	if !p.exited() {
		_ = p.cmd.Process.Signal(os.Interrupt)
	}
	select {
	case <-p.done:
		return p.err
	case <-time.After(d):
		return errStillRunning
	}
}

var errStillRunning = errors.New("still running")

// complete posts an OpenAI chat completion body and returns the status
// and the body.
func (p *e2eProxy) complete(t *testing.T, body string) (int, []byte) {
	t.Helper()
	resp, err := http.Post(p.url+"/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, data
}

// streamedText joins the content of a streamed reply's chunks and returns
// it with the finish reason.
func streamedText(t *testing.T, body []byte) (string, string) {
	t.Helper()
	var text strings.Builder
	var reason string
	for ev := range strings.SplitSeq(strings.TrimSpace(string(body)), "\n\n") {
		data := strings.TrimPrefix(ev, "data: ")
		if data == "[DONE]" {
			return text.String(), reason
		}
		var c struct {
			Choices []struct {
				Delta        struct{ Content string }
				FinishReason *string `json:"finish_reason"`
			}
		}
		if err := json.Unmarshal([]byte(data), &c); err != nil || len(c.Choices) != 1 {
			t.Fatalf("event %q: %v", data, err)
		}
		text.WriteString(c.Choices[0].Delta.Content)
		if r := c.Choices[0].FinishReason; r != nil {
			reason = *r
		}
	}
	t.Fatalf("no [DONE] in %s", body)
	return "", ""
}

// TestE2EProxy: `sotto proxy` in front of `sotto serve` (stories260K)
// answers a greedy request with the same text streamed and not; the
// second turn of the conversation, resent whole, reuses the first turn's
// prompt on the server (its cached-token counter moves); and the proxy's
// debug log holds neither the prompts nor the replies. SIGINT stops it
// with status 0.
func TestE2EProxy(t *testing.T) {
	s := startServe(t, "SOTTO_PREFIX_CACHE_BYTES=16777216")
	p := startProxy(t, s)
	const prompt = "Once upon a time, Lily found a red ball in the garden"
	turn1 := `{"model":"sotto","messages":[{"role":"user","content":"` + prompt + `"}],"temperature":0,"max_tokens":24`
	status, data := p.complete(t, turn1+`}`)
	var c struct {
		Choices []struct {
			Message      struct{ Content string }
			FinishReason string `json:"finish_reason"`
		}
		Usage struct {
			PromptTokens     int `json:"prompt_tokens"`
			CompletionTokens int `json:"completion_tokens"`
		} `json:"usage"`
	}
	if err := json.Unmarshal(data, &c); status != 200 || err != nil || len(c.Choices) != 1 {
		t.Fatalf("%d %s (%v)\nproxy:\n%s", status, data, err, p.logs.Bytes())
	}
	reply := c.Choices[0].Message.Content
	if len(reply) < 16 || c.Choices[0].FinishReason != "length" || c.Usage.CompletionTokens != 24 || c.Usage.PromptTokens < 10 {
		t.Fatalf("completion %s", data)
	}
	status, data = p.complete(t, turn1+`,"stream":true}`)
	if text, reason := streamedText(t, data); status != 200 || text != reply || reason != "length" {
		t.Fatalf("streamed %q (%s), not streamed %q", text, reason, reply)
	}
	cached := s.serverCounter(t, "sotto_prompt_tokens_cached_total")
	replyJSON, _ := json.Marshal(reply)
	turn2 := `{"model":"sotto","messages":[{"role":"user","content":"` + prompt + `"},{"role":"assistant","content":` +
		string(replyJSON) + `},{"role":"user","content":"Then the dog came"}],"temperature":0,"max_tokens":8}`
	if status, data = p.complete(t, turn2); status != 200 {
		t.Fatalf("turn 2: %d %s", status, data)
	}
	if got := s.serverCounter(t, "sotto_prompt_tokens_cached_total"); got-cached < float64(c.Usage.PromptTokens-1) {
		t.Fatalf("turn 2 reused %v cached prompt tokens, want at least %d", got-cached, c.Usage.PromptTokens-1)
	}
	// Ctrl-C: the proxy stops serving and exits cleanly.
	if err := p.stop(30 * time.Second); err != nil {
		t.Fatalf("sotto proxy exited with %v on SIGINT:\n%s", err, p.logs.Bytes())
	}
	logs := p.logs.String()
	if !strings.Contains(logs, "sotto proxy: the server's key configuration verifies against the pin\n") ||
		strings.Count(logs, `msg="proxy: request"`) != 3 || strings.Count(logs, `level=DEBUG msg="proxy: chat"`) != 3 {
		t.Fatalf("proxy log:\n%s", logs)
	}
	for _, secret := range []string{"Lily", "red ball", "the dog came", reply[:16]} {
		if strings.Contains(logs, secret) {
			t.Fatalf("the proxy's debug log holds request or reply text %q:\n%s", secret, logs)
		}
	}
}

// TestE2EProxyWrongPin: a proxy whose pin does not sign the server's key
// configuration refuses to start, and says so; one whose server is not
// up yet starts with a warning.
func TestE2EProxyWrongPin(t *testing.T) {
	s := startServe(t)
	other, _, _ := ed25519.GenerateKey(rand.Reader)
	out, err := exec.Command("sotto", "proxy", "--listen", "127.0.0.1:0", "--server", s.url,
		"--pin", "ed25519:"+base64.RawURLEncoding.EncodeToString(other), "--device-key", s.deviceKey,
		"--state", filepath.Join(t.TempDir(), "state.json")).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "sotto: proxy: client: no usable key configuration: keyconfig: document not signed by the pinned key (check --server and --pin)") {
		t.Fatalf("wrong pin: %v\n%s", err, out)
	}
	_ = s.cmd.Process.Signal(os.Interrupt)
	_ = s.cmd.Wait()
	p := startProxy(t, s)
	if !strings.Contains(p.logs.String(), "sotto proxy: warning: the server cannot be checked yet: client: key configuration: ") {
		t.Fatalf("proxy log:\n%s", p.logs.Bytes())
	}
}
