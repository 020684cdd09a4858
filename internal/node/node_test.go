package node

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sottolabs/sotto/client"
	"github.com/sottolabs/sotto/crypto"
	"github.com/sottolabs/sotto/crypto/device"
	"github.com/sottolabs/sotto/internal/locked"
	"github.com/sottolabs/sotto/internal/synth"
	"github.com/sottolabs/sotto/internal/testenv"
)

// running is a Node serving on loopback, with one enrolled device.
type running struct {
	n      *Node
	url    string
	cancel context.CancelFunc
	done   chan error // Run's result
	logs   *testenv.SyncBuffer
	client *client.Client
	priv   ed25519.PrivateKey // the enrolled device's key
}

// startNode builds a Node from vars (plus a free port, a key directory
// and an allow-list with one device), runs it and waits until it is ready.
func startNode(t *testing.T, vars map[string]string) *running {
	t.Helper()
	dir := t.TempDir()
	priv := enrol(t, filepath.Join(dir, "devices"))
	port := freePort(t)
	all := map[string]string{
		"SOTTO_LISTEN":     "127.0.0.1:" + strconv.Itoa(port),
		"SOTTO_KEY_DIR":    filepath.Join(dir, "keys"),
		"SOTTO_ALLOW_LIST": filepath.Join(dir, "devices"),
	}
	for k, v := range vars {
		all[k] = v
	}
	r := &running{url: "http://127.0.0.1:" + strconv.Itoa(port), done: make(chan error, 1), logs: &testenv.SyncBuffer{}}
	log := slog.New(slog.NewTextHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	n, err := New(planOf(t, all), log)
	if err != nil {
		t.Fatal(err)
	}
	r.n, r.priv = n, priv
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- n.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-r.done; n.Close() })
	waitReady(t, r)
	r.client, err = client.New(client.Config{BaseURL: r.url, SigningKey: n.keys.SigningPublicKey(), DeviceKey: priv})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// enrol makes a device key in locked memory and writes its allow-list.
func enrol(t *testing.T, path string) ed25519.PrivateKey {
	t.Helper()
	buf, err := device.GenerateEd25519(rand.Reader, locked.NewBudget(locked.Unlimited))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(buf.Destroy)
	priv := ed25519.PrivateKey(buf.Bytes())
	k, err := device.PublicKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	if err := device.Allow(path, k); err != nil {
		t.Fatal(err)
	}
	return priv
}

func freePort(t *testing.T) int { return testenv.FreePort(t) }

func waitReady(t *testing.T, r *running) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(r.url + "/health/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case err := <-r.done:
			t.Fatalf("Run returned before ready: %v\n%s", err, r.logs.Bytes())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("not ready after 60 s\n%s", r.logs.Bytes())
}

// stop cancels Run and returns its result.
func (r *running) stop(t *testing.T) error {
	t.Helper()
	r.cancel()
	select {
	case err := <-r.done:
		r.done <- err // for the cleanup
		return err
	case <-time.After(2 * time.Minute):
		t.Fatalf("Run did not return after cancel\n%s", r.logs.Bytes())
		return nil
	}
}

func greedy(prompt string, maxTokens int) client.Request {
	zero := 0.0
	return client.Request{Messages: []client.Message{{Role: "user", Content: prompt}}, MaxTokens: maxTokens, Temperature: &zero}
}

// TestRunServesThenDrains: a Node built from a plan serves an encrypted
// chat on stories260K (the same greedy text twice, exactly max_tokens
// long), and Run returns nil once its context ends; the listener is then
// closed.
func TestRunServesThenDrains(t *testing.T) {
	r := startNode(t, map[string]string{"SOTTO_MODEL": testenv.Model(t, "stories260K.gguf"), "SHUTDOWN_GRACE_SECONDS": "5"})
	var texts [2]string
	for i := range texts {
		var b strings.Builder
		res, err := r.client.Chat(context.Background(), greedy("Once upon a time", 24), func(p []byte) error { b.Write(p); return nil })
		if err != nil {
			t.Fatal(err)
		}
		if res.FinishReason != "length" || res.CompletionTokens != 24 {
			t.Fatalf("result %+v", res)
		}
		texts[i] = b.String()
	}
	if texts[0] == "" || texts[0] != texts[1] {
		t.Fatalf("greedy texts differ or are empty: %q / %q", texts[0], texts[1])
	}
	if err := r.stop(t); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if _, err := http.Get(r.url + "/health/live"); err == nil {
		t.Fatal("listener still open after Run returned")
	}
}

// slowModel synthesizes a model slow enough on this machine that a
// request is still in prefill or generation when shutdown begins.
func slowModel(t *testing.T) string {
	t.Helper()
	c, err := synth.Preset("demo")
	if err != nil {
		t.Fatal(err)
	}
	c.NLayer = 32
	path := filepath.Join(t.TempDir(), "slow.gguf")
	if err := synth.WriteFile(path, c); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestShutdownGraceZero: with no grace, shutdown during prefill and during
// generation closes the streams (the client detects the cut), Run returns
// nil after every handler has returned, and Close then frees the engine,
// model and keys without a crash (issue: the drain freed them under a
// running handler).
func TestShutdownGraceZero(t *testing.T) {
	model := slowModel(t)
	for _, phase := range []string{"prefill", "generation"} {
		t.Run(phase, func(t *testing.T) {
			r := startNode(t, map[string]string{"SOTTO_MODEL": model, "SHUTDOWN_GRACE_SECONDS": "0", "SOTTO_CONTEXT": "2048", "SOTTO_SLOTS": "1"})
			prompt := "hello"
			if phase == "prefill" {
				prompt = strings.Repeat("the cat sat on the mat and ", 20)
			}
			first := make(chan struct{}, 1)
			chatErr := make(chan error, 1)
			go func() {
				res, err := r.client.Chat(context.Background(), greedy(prompt, 200), func([]byte) error {
					select {
					case first <- struct{}{}:
					default:
					}
					return nil
				})
				if err == nil {
					err = fmt.Errorf("finished: %+v", res)
				}
				chatErr <- err
			}()
			waitPhase(t, r, phase, first, chatErr)
			if err := r.stop(t); err != nil {
				t.Fatalf("Run: %v\n%s", err, r.logs.Bytes())
			}
			if err := <-chatErr; strings.HasPrefix(err.Error(), "finished") {
				t.Fatalf("the cut stream ended without an error: %v", err)
			} else if phase == "generation" && !errors.Is(err, crypto.ErrStreamTruncated) {
				t.Fatalf("generation cut: %v, want ErrStreamTruncated", err)
			}
			r.n.Close() // frees now; the cleanup's second Close is a no-op
		})
	}
}

// waitPhase returns once the request is in the phase: prefill (a slot is
// busy and no text has arrived) or generation (text has arrived).
func waitPhase(t *testing.T, r *running, phase string, first <-chan struct{}, chatErr <-chan error) {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		select {
		case <-first:
			if phase == "generation" {
				return
			}
			t.Skip("prefill finished before it could be observed on this machine")
		case err := <-chatErr:
			t.Fatalf("chat ended before %s: %v", phase, err)
		case <-deadline:
			t.Fatalf("request never reached %s", phase)
		case <-time.After(time.Millisecond):
			if phase == "prefill" && r.n.engine != nil && r.n.engine.Stats().BusySlots > 0 {
				return
			}
		}
	}
}
