package main

import (
	"bufio"
	"bytes"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestE2EGracefulShutdown: SIGTERM during a stream lets the stream finish
// (its final chunk arrives, the client exits 0) before the process exits 0.
// The model is a synthesized one, slow enough (32 layers) that the stream
// is still running when the signal lands; the log's order proves it was.
func TestE2EGracefulShutdown(t *testing.T) {
	model := filepath.Join(t.TempDir(), "slow.gguf")
	sotto(t, "model", "synth", "--preset", "demo", "--n-layer", "32", "--type", "q8_0", "--out", model)
	s := startServe(t, "SOTTO_MODEL="+model, "SOTTO_CONTEXT=1024", "SHUTDOWN_GRACE_SECONDS=120")

	chat := exec.Command("sotto", "chat", "--server", s.url, "--pin", s.pin, "--device-key", s.deviceKey,
		"-p", "hello", "--temperature", "0", "--max-tokens", "800", "--verbose")
	chat.Env = append(chat.Environ(), "XDG_CONFIG_HOME="+s.dir)
	var stderr bytes.Buffer
	chat.Stderr = &stderr
	stdout, err := chat.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := chat.Start(); err != nil {
		t.Fatal(err)
	}
	out := bufio.NewReader(stdout)
	if _, err := out.ReadByte(); err != nil { // the first delta has arrived
		t.Fatalf("no reply: %v\n%s", err, stderr.Bytes())
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, out); err != nil {
		t.Fatal(err)
	}
	if err := chat.Wait(); err != nil {
		t.Fatalf("sotto chat failed during shutdown: %v\n%s", err, stderr.Bytes())
	}
	exited := make(chan error, 1)
	go func() { exited <- s.cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("sotto serve exit: %v\nlogs:\n%s", err, s.logs.Bytes())
		}
	case <-time.After(60 * time.Second):
		t.Fatal("sotto serve did not exit after its last stream")
	}
	logs := s.logs.String()
	shut, done := strings.Index(logs, "shutting down"), strings.Index(logs, "msg=chat")
	if shut < 0 || done < 0 || shut > done {
		t.Fatalf("want the stream to finish after shutdown began (shutting down at %d, chat at %d):\n%s", shut, done, logs)
	}
	if !strings.Contains(logs, "finish=length") {
		t.Fatalf("the drained stream did not run to max_tokens:\n%s", logs)
	}
}
