package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/sottolabs/sotto/internal/modelpull"
	"github.com/sottolabs/sotto/internal/testenv"
)

// TestServeRefusesChangedModel: with SOTTO_MODEL_SHA256, serve loads the
// pinned model and answers as usual, and refuses to start once one byte
// of the file changed (issue 17, item 9).
func TestServeRefusesChangedModel(t *testing.T) {
	model := filepath.Join(t.TempDir(), "pinned.gguf")
	data, err := os.ReadFile(testenv.Model(t, "stories260K.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(model, data, 0o644); err != nil {
		t.Fatal(err)
	}
	_, sum, _ := modelpull.SHA256(bytes.NewReader(data))
	const prompt = "Once upon a time, a little fox"
	s := startServe(t, "SOTTO_MODEL="+model, "SOTTO_MODEL_SHA256="+sum)
	if got, want := s.chat(t, prompt, "--temperature", "0", "--max-tokens", "48"), greedyReply(t, prompt)+"\n"; got != want {
		t.Fatalf("pinned model: %q, want %q", got, want)
	}
	data[len(data)-1] ^= 1
	if err := os.WriteFile(model, data, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sotto", "serve", "--env-file", "")
	cmd.Env = append(os.Environ(), "ENVIRONMENT=development", "SOTTO_MODEL="+model, "SOTTO_MODEL_SHA256="+sum,
		"SOTTO_KEY_DIR="+filepath.Join(t.TempDir(), "keys"), "SOTTO_DEVICE_POLICY=open", "SOTTO_LISTEN=127.0.0.1:0",
		"SOTTO_SLOTS=1", "SOTTO_CONTEXT=512", "SOTTO_THREADS=1")
	out, err := cmd.CombinedOutput()
	if err == nil || !bytes.Contains(out, []byte("the model file's sha256 is not SOTTO_MODEL_SHA256")) {
		t.Fatalf("serve with a changed model: %v\n%s", err, out)
	}
}
