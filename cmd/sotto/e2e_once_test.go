package main

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sottolabs/sotto/internal/memscan"
	"github.com/sottolabs/sotto/internal/testenv"
)

// TestE2EPromptExactlyOnce backs docs/privacy.md's claim: while a stream
// is running, the prompt's text exists exactly once in the server process
// (in the locked buffer of the decrypted request). The model is a slow
// synthesized one, so the scan runs mid-generation.
func TestE2EPromptExactlyOnce(t *testing.T) {
	testenv.RequireRoot(t, "the memory scan reads /proc/PID/mem of a non-dumpable process")
	model := filepath.Join(t.TempDir(), "slow.gguf")
	sotto(t, "model", "synth", "--preset", "demo", "--n-layer", "32", "--type", "q8_0", "--out", model)
	s := startServe(t, "SOTTO_MODEL="+model, "SOTTO_CONTEXT=1024")
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	canary := "ZQXONCE" + strings.ToUpper(hex.EncodeToString(rnd[:]))

	chat := exec.Command("sotto", "chat", "--server", s.url, "--pin", s.pin, "--device-key", s.deviceKey,
		"-p", "hello "+canary, "--temperature", "0", "--max-tokens", "800")
	chat.Env = append(chat.Environ(), "XDG_CONFIG_HOME="+s.dir)
	stdout, err := chat.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := chat.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = chat.Process.Kill(); _ = chat.Wait() })
	if _, err := bufio.NewReader(stdout).ReadByte(); err != nil { // generation is under way
		t.Fatalf("no reply: %v", err)
	}
	hits, err := memscan.Scan(s.cmd.Process.Pid, []byte(canary))
	if err != nil {
		t.Fatal(err)
	}
	// The stream was still running during the scan.
	resp, err := s.http.Get(s.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(metrics), "\nsotto_active_streams 1\n") {
		t.Fatal("the stream had ended before the scan: the test proves nothing")
	}
	if len(hits) != 1 {
		for _, h := range hits {
			t.Logf("hit at %#x in %s", h.Addr, h.Region)
		}
		t.Fatalf("the prompt is in the server's memory %d times during the stream, want exactly once", len(hits))
	}
}
